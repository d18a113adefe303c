//! The unified field vocabulary, capability sets and the unsupported-field policy.

use std::fmt;

/// One unified field of a [`TicketUpdate`](crate::TicketUpdate).
///
/// Providers declare which of these they can carry in their [`Capabilities`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Field {
    /// The ticket title.
    Title,
    /// The ticket description (Markdown).
    Description,
    /// The [`Priority`](crate::Priority).
    Priority,
    /// The [`TicketKind`](crate::TicketKind).
    Kind,
    /// Tags (label names).
    Tags,
    /// Custom fields (key and value).
    CustomFields,
    /// The optional id of custom fields (some providers address custom fields by key only).
    CustomFieldIds,
    /// Attachments given as file URLs.
    Attachments,
    /// The [`TicketStatus`](crate::TicketStatus).
    Status,
    /// Whether the ticket is solved.
    Solved,
    /// A comment to add.
    Comment,
    /// The key of custom fields (some providers address custom fields by id only).
    CustomFieldKeys,
    /// Whether a comment is public or internal.
    CommentVisibility,
}

impl Field {
    /// Every field, in declaration order.
    pub const ALL: [Field; 13] = [
        Field::Title,
        Field::Description,
        Field::Priority,
        Field::Kind,
        Field::Tags,
        Field::CustomFields,
        Field::CustomFieldIds,
        Field::CustomFieldKeys,
        Field::Attachments,
        Field::Status,
        Field::Solved,
        Field::Comment,
        Field::CommentVisibility,
    ];

    /// The field's stable name, as used in errors and configuration (`"custom_fields"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Field::Title => "title",
            Field::Description => "description",
            Field::Priority => "priority",
            Field::Kind => "kind",
            Field::Tags => "tags",
            Field::CustomFields => "custom_fields",
            Field::CustomFieldIds => "custom_fields.id",
            Field::Attachments => "attachments",
            Field::Status => "status",
            Field::Solved => "solved",
            Field::Comment => "comment",
            Field::CustomFieldKeys => "custom_fields.key",
            Field::CommentVisibility => "comment.visibility",
        }
    }

    const fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl std::str::FromStr for Field {
    type Err = crate::TicketError;
    /// Parses a field's stable name (`"custom_fields.id"`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Field::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| crate::TicketError::invalid("field", format!("unknown field {s:?}")))
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of [`Field`]s: plain data, cheap to copy and compare.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FieldSet(u16);

impl FieldSet {
    /// The empty set.
    pub const EMPTY: FieldSet = FieldSet(0);

    /// A set of the given fields.
    pub const fn of(fields: &[Field]) -> FieldSet {
        let mut bits = 0;
        let mut i = 0;
        while i < fields.len() {
            bits |= fields[i].bit();
            i += 1;
        }
        FieldSet(bits)
    }

    /// This set with `field` added.
    #[must_use]
    pub const fn with(self, field: Field) -> FieldSet {
        FieldSet(self.0 | field.bit())
    }

    /// Whether `field` is in the set.
    pub const fn contains(self, field: Field) -> bool {
        self.0 & field.bit() != 0
    }

    /// The fields of `self` that are not in `other`.
    #[must_use]
    pub const fn difference(self, other: FieldSet) -> FieldSet {
        FieldSet(self.0 & !other.0)
    }

    /// The fields in `self` or in `other`.
    #[must_use]
    pub const fn union(self, other: FieldSet) -> FieldSet {
        FieldSet(self.0 | other.0)
    }

    /// The fields in both `self` and `other`.
    #[must_use]
    pub const fn intersection(self, other: FieldSet) -> FieldSet {
        FieldSet(self.0 & other.0)
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The fields in the set, in declaration order.
    pub fn iter(self) -> impl Iterator<Item = Field> {
        Field::ALL.into_iter().filter(move |f| self.contains(*f))
    }
}

impl fmt::Debug for FieldSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.iter().map(Field::as_str))
            .finish()
    }
}

impl FromIterator<Field> for FieldSet {
    fn from_iter<I: IntoIterator<Item = Field>>(iter: I) -> Self {
        iter.into_iter().fold(FieldSet::EMPTY, FieldSet::with)
    }
}

/// What a provider can carry, as data: callers may ask before they build an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// The unified fields the provider can carry.
    pub supported: FieldSet,
    /// The fields every update must set (EngageLab: title and description).
    pub required: FieldSet,
    /// Whether an update must carry at least one field (Feishu).
    pub requires_any_field: bool,
    /// What every custom field must have: [`Field::CustomFieldIds`] (Zendesk addresses
    /// custom fields by id) and/or [`Field::CustomFieldKeys`] (EngageLab, by key).
    pub custom_field_requires: FieldSet,
    /// Fields whose update is not idempotent: sending the same update twice applies them twice
    /// (Feishu appends `comment`). An update carrying one is retried only when it certainly did
    /// not apply, unless the caller opts in.
    pub non_idempotent: FieldSet,
    /// Whether the provider can read a ticket ([`TicketUpdater::read`](crate::TicketUpdater::read)),
    /// and so run updates in merge mode and verify them. A client may still lack what reading
    /// needs (Feishu without app credentials): its reads then fail with a configuration error.
    pub read: bool,
    /// Fields an update resets to a default when it omits them (EngageLab's `priority`
    /// becomes `medium`). Refused like [`required`](Self::required) ones, unless the update
    /// sets them or runs in merge mode, which fills them from the ticket as read.
    pub reset_when_omitted: FieldSet,
    /// Collections an update replaces whole ([`Field::Tags`], [`Field::CustomFields`]): merge
    /// mode sends the whole merged collection. A collection not listed is merged item by item
    /// by the provider (Feishu's custom fields): merge mode sends only the items named.
    pub replaces_whole: FieldSet,
    /// The rate of reads the provider documents, per second (Feishu's Get Ticket: 10), for
    /// callers that pace their reads.
    pub read_rate: Option<u32>,
}

impl Capabilities {
    /// Capabilities with the given supported fields and no requirements.
    pub const fn new(supported: FieldSet) -> Self {
        Self {
            supported,
            required: FieldSet::EMPTY,
            requires_any_field: false,
            custom_field_requires: FieldSet::EMPTY,
            non_idempotent: FieldSet::EMPTY,
            read: false,
            reset_when_omitted: FieldSet::EMPTY,
            replaces_whole: FieldSet::EMPTY,
            read_rate: None,
        }
    }

    /// Declares that the provider can read a ticket, with the rate of reads it documents
    /// (per second), if any.
    #[must_use]
    pub const fn reading(mut self, rate: Option<u32>) -> Self {
        self.read = true;
        self.read_rate = rate;
        self
    }

    /// Declares the fields an update resets when it omits them.
    #[must_use]
    pub const fn resetting_when_omitted(mut self, fields: FieldSet) -> Self {
        self.reset_when_omitted = fields;
        self
    }

    /// Declares the collections an update replaces whole.
    #[must_use]
    pub const fn replacing_whole(mut self, fields: FieldSet) -> Self {
        self.replaces_whole = fields;
        self
    }

    /// The fields every update must carry unless it runs in merge mode:
    /// [`required`](Self::required) and [`reset_when_omitted`](Self::reset_when_omitted).
    pub const fn must_carry(&self) -> FieldSet {
        self.required.union(self.reset_when_omitted)
    }

    /// Requires every custom field to have an id ([`Field::CustomFieldIds`]) and/or a key
    /// ([`Field::CustomFieldKeys`]).
    #[must_use]
    pub const fn requiring_per_custom_field(mut self, required: FieldSet) -> Self {
        self.custom_field_requires = required;
        self
    }

    /// Declares the fields whose update is not idempotent.
    #[must_use]
    pub const fn not_idempotent(mut self, fields: FieldSet) -> Self {
        self.non_idempotent = fields;
        self
    }

    /// Whether sending an update of `fields` twice has the effect of sending it once.
    pub const fn is_idempotent(&self, fields: FieldSet) -> bool {
        fields.0 & self.non_idempotent.0 == 0
    }

    /// Sets the fields every update must set.
    #[must_use]
    pub const fn requiring(mut self, required: FieldSet) -> Self {
        self.required = required;
        self
    }

    /// Requires every update to carry at least one field.
    #[must_use]
    pub const fn requiring_any_field(mut self) -> Self {
        self.requires_any_field = true;
        self
    }

    /// Whether the provider can carry `field`.
    pub const fn supports(&self, field: Field) -> bool {
        self.supported.contains(field)
    }
}

/// What to do with unified fields that the chosen provider cannot carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum UnsupportedPolicy {
    /// Refuse the whole update before any request, naming every such field (the default).
    #[default]
    Strict,
    /// Send what the provider can carry, and list the dropped fields in the receipt.
    Lenient,
}
