//! Feishu tickets as the sandbox stores them, and the helpdesk's custom field definitions.

use serde::{Deserialize, Serialize};

/// One Feishu customized field (`customized_field_display_item`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct FeishuCustomizedField {
    /// Field id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Key name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_name: Option<String>,
    /// Value (always a string on the wire).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl FeishuCustomizedField {
    /// A field with the given parts (any may be absent).
    pub fn new(id: Option<&str>, key_name: Option<&str>, value: Option<&str>) -> Self {
        Self {
            id: id.map(str::to_owned),
            key_name: key_name.map(str::to_owned),
            value: value.map(str::to_owned),
        }
    }
}

/// A Feishu Helpdesk ticket as the sandbox stores it, in the update's (`PUT`) vocabulary.
/// `GET` shows it in its own form (`solve`, `tags` with ids, dropdown labels, the latest
/// comment; see the crate README).
///
/// Deserializing accepts partial JSON: missing fields take the [`Default`] values. Start from
/// [`FeishuTicket::default`] and chain the `with_` setters:
///
/// ```
/// use helpdesk_ticket_sandbox::{FeishuCustomizedField, FeishuTicket};
///
/// let ticket = FeishuTicket::default()
///     .with_status(2)
///     .with_tags(["printer"])
///     .with_field(FeishuCustomizedField::new(Some("6834320707288072194"), None, Some("opt-a")));
/// assert_eq!(ticket.tag_names, ["printer"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct FeishuTicket {
    /// Ticket id (the sandbox sets it to the id the ticket is stored under).
    pub ticket_id: String,
    /// Status in the update's numbering: 1, 2, 3, 4, 5, 50 or 51; seeding may also set 52
    /// (closed by the user), which only `GET` knows.
    pub status: i64,
    /// Tag names (an update replaces them).
    pub tag_names: Vec<String>,
    /// Every comment received, oldest first (each update's `comment` is appended).
    pub comments: Vec<String>,
    /// Customized fields (an update merges by `id`, else by `key_name`). A dropdown field holds
    /// the option's `tag`, as the update writes it.
    pub customized_fields: Vec<FeishuCustomizedField>,
    /// Ticket stage.
    pub ticket_type: i64,
    /// 1 unsolved, 2 solved.
    pub solved: i64,
    /// Channel id.
    pub channel: i64,
    /// Creation, Unix milliseconds. Seeding fills `0` with the current time.
    pub created_at: i64,
    /// Last update, Unix milliseconds. Seeding fills `0` with the current time; `-1` (the
    /// vendor's "no value") is kept until an update.
    pub updated_at: i64,
    /// When the ticket was closed (status 50, 51 or 52), Unix milliseconds; 0 while open.
    /// Seeding a closed ticket fills `0` with its `updated_at`.
    pub closed_at: i64,
}

impl Default for FeishuTicket {
    fn default() -> Self {
        Self {
            ticket_id: String::new(),
            status: 1,
            tag_names: Vec::new(),
            comments: Vec::new(),
            customized_fields: Vec::new(),
            ticket_type: 1,
            solved: 1,
            channel: 0,
            created_at: 0,
            updated_at: 0,
            closed_at: 0,
        }
    }
}

impl FeishuTicket {
    /// Sets the status (update numbering, or 52).
    #[must_use]
    pub fn with_status(mut self, status: i64) -> Self {
        self.status = status;
        self
    }

    /// Replaces the tag names.
    #[must_use]
    pub fn with_tags<I, S>(mut self, tags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tag_names = tags.into_iter().map(Into::into).collect();
        self
    }

    /// Adds a customized field value (a dropdown's value is its option `tag`).
    #[must_use]
    pub fn with_field(mut self, field: FeishuCustomizedField) -> Self {
        self.customized_fields.push(field);
        self
    }

    /// Appends a comment.
    #[must_use]
    pub fn with_comment(mut self, comment: impl Into<String>) -> Self {
        self.comments.push(comment.into());
        self
    }

    /// Sets the solved flag (1 unsolved, 2 solved).
    #[must_use]
    pub fn with_solved(mut self, solved: i64) -> Self {
        self.solved = solved;
        self
    }

    /// Whether the status is a closed one (50, 51 or 52).
    pub(crate) fn is_closed(&self) -> bool {
        is_closed_status(self.status)
    }
}

/// Statuses that close a ticket: by the bot, by an agent, by the user (`GET` only).
pub(crate) fn is_closed_status(status: i64) -> bool {
    matches!(status, 50..=52)
}

/// One comment of a Feishu ticket, as [`crate::Sandbox::feishu_comments`] lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FeishuComment {
    /// Position in the ticket's comment list, from 1 (what `GET` shows as `comments.id`).
    pub id: i64,
    /// The text.
    pub content: String,
    /// When it was stored, Unix milliseconds (seeded comments: the seeding time).
    pub created_at: i64,
}

/// A ticket custom field definition of the helpdesk (`ticket_customized_field`), as the
/// custom-field list returns it. The sandbox uses it to check dropdown values on update and to
/// show dropdown labels on `GET`.
///
/// ```
/// use helpdesk_ticket_sandbox::{FeishuDropdownOption, FeishuFieldDef};
///
/// let def = FeishuFieldDef::dropdown(
///     "6834320707288072194",
///     "test dropdown",
///     [FeishuDropdownOption::new("c495fe14", "l1"), FeishuDropdownOption::new("295cf315", "l11")],
/// );
/// assert_eq!(def.label_of("295cf315"), Some("l11"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct FeishuFieldDef {
    /// `ticket_customized_field_id`; a ticket's `customized_fields[].id` names it.
    pub id: String,
    /// Key name; a ticket's `customized_fields[].key_name` names it when there is no id.
    pub key_name: String,
    /// Display name (defaults to the key name in [`FeishuFieldDef::text`] and
    /// [`FeishuFieldDef::dropdown`]).
    pub display_name: String,
    /// Position in the admin list.
    pub position: i64,
    /// `string`, `multiline`, `dropdown` or `dropdown_nested`.
    pub field_type: String,
    /// Description.
    pub description: String,
    /// Visible.
    pub visible: bool,
    /// Can be changed.
    pub editable: bool,
    /// Required.
    pub required: bool,
    /// The options of a dropdown field (nested ones for `dropdown_nested`).
    pub dropdown_options: Vec<FeishuDropdownOption>,
}

impl Default for FeishuFieldDef {
    fn default() -> Self {
        Self {
            id: String::new(),
            key_name: String::new(),
            display_name: String::new(),
            position: 0,
            field_type: "string".to_owned(),
            description: String::new(),
            visible: true,
            editable: true,
            required: false,
            dropdown_options: Vec::new(),
        }
    }
}

impl FeishuFieldDef {
    /// A single-line text field.
    pub fn text(id: impl Into<String>, key_name: impl Into<String>) -> Self {
        let key_name = key_name.into();
        Self {
            id: id.into(),
            display_name: key_name.clone(),
            key_name,
            ..Self::default()
        }
    }

    /// A dropdown field with these options (`dropdown_nested` when any option has children).
    pub fn dropdown(
        id: impl Into<String>,
        key_name: impl Into<String>,
        options: impl IntoIterator<Item = FeishuDropdownOption>,
    ) -> Self {
        let options: Vec<_> = options.into_iter().collect();
        let nested = options.iter().any(|o| !o.children.is_empty());
        Self {
            field_type: if nested {
                "dropdown_nested"
            } else {
                "dropdown"
            }
            .to_owned(),
            dropdown_options: options,
            ..Self::text(id, key_name)
        }
    }

    /// Sets the display name.
    #[must_use]
    pub fn with_display_name(mut self, display_name: impl Into<String>) -> Self {
        self.display_name = display_name.into();
        self
    }

    /// Sets the position.
    #[must_use]
    pub fn with_position(mut self, position: i64) -> Self {
        self.position = position;
        self
    }

    /// Sets `required`.
    #[must_use]
    pub fn with_required(mut self, required: bool) -> Self {
        self.required = required;
        self
    }

    /// Sets `editable`.
    #[must_use]
    pub fn with_editable(mut self, editable: bool) -> Self {
        self.editable = editable;
        self
    }

    /// Whether values are option tags (`dropdown` or `dropdown_nested`).
    pub fn is_dropdown(&self) -> bool {
        self.field_type.starts_with("dropdown")
    }

    /// The label of the option with this `tag`, at any nesting level.
    pub fn label_of(&self, tag: &str) -> Option<&str> {
        find_label(&self.dropdown_options, tag)
    }

    /// Whether a ticket's field item names this definition: by id when the item has one, else
    /// by key name.
    pub(crate) fn names(&self, item: &FeishuCustomizedField) -> bool {
        match (&item.id, &item.key_name) {
            (Some(id), _) => *id == self.id,
            (None, Some(key)) => *key == self.key_name,
            (None, None) => false,
        }
    }
}

fn find_label<'a>(options: &'a [FeishuDropdownOption], tag: &str) -> Option<&'a str> {
    options.iter().find_map(|o| {
        if o.tag == tag {
            Some(o.display_name.as_str())
        } else {
            find_label(&o.children, tag)
        }
    })
}

/// One dropdown option: the `tag` an update writes and the `display_name` `GET` shows.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct FeishuDropdownOption {
    /// Option id, the value an update writes.
    pub tag: String,
    /// Option label, the value `GET` shows.
    pub display_name: String,
    /// Nested options (multi-level dropdowns).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<FeishuDropdownOption>,
}

impl FeishuDropdownOption {
    /// An option with this tag and label.
    pub fn new(tag: impl Into<String>, display_name: impl Into<String>) -> Self {
        Self {
            tag: tag.into(),
            display_name: display_name.into(),
            children: Vec::new(),
        }
    }

    /// Sets the nested options.
    #[must_use]
    pub fn with_children(mut self, children: impl IntoIterator<Item = Self>) -> Self {
        self.children = children.into_iter().collect();
        self
    }
}
