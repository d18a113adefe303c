//! Validated values that make up an update: ids, enumerations, custom fields, attachments.

use std::fmt;
use std::str::FromStr;

use crate::TicketError;

/// A ticket id, validated to be safe as one URL path segment.
///
/// It is non-empty, has no control characters, no surrounding whitespace, and is not `.` or
/// `..`. Providers percent-encode it as a single path segment, so `a/b` or `../x` can never
/// change the request path.
///
/// ```
/// use ticket_core::TicketId;
/// assert_eq!(TicketId::new("tk_20251104_789abc")?.as_str(), "tk_20251104_789abc");
/// assert!(TicketId::new("").is_err());
/// assert!(TicketId::new("a\nb").is_err());
/// # Ok::<(), ticket_core::TicketError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TicketId(String);

impl TicketId {
    /// Validates `id`.
    pub fn new(id: impl Into<String>) -> Result<Self, TicketError> {
        let id = id.into();
        let refuse = |reason: &str| Err(TicketError::invalid("ticket_id", reason));
        if id.is_empty() {
            return refuse("must not be empty");
        }
        if id.chars().any(char::is_control) {
            return refuse("must not contain control characters");
        }
        if id.trim() != id {
            return refuse("must not start or end with whitespace");
        }
        if id == "." || id == ".." {
            return refuse("must not be `.` or `..`");
        }
        if id.len() > 256 {
            return refuse("must be at most 256 bytes");
        }
        Ok(Self(id))
    }

    /// The id as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TicketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for TicketId {
    type Err = TicketError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<&str> for TicketId {
    type Error = TicketError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl TryFrom<String> for TicketId {
    type Error = TicketError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl AsRef<str> for TicketId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Declares a closed enumeration with stable lowercase names and a parser.
macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident, $field:literal { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        // Deliberately exhaustive: every provider's mapping must handle every value, so a
        // new value is a compile error in a mapping rather than a silent `_` arm.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable lowercase name.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = TicketError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let lower = s.trim().to_ascii_lowercase();
                $(if lower == $text { return Ok($name::$variant); })+
                Self::parse_alias(&lower).ok_or_else(|| {
                    let names: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                    TicketError::invalid(
                        $field,
                        format!("unknown value {s:?}; expected one of {}", names.join(", ")),
                    )
                })
            }
        }
    };
}

named_enum!(
    /// How urgent a ticket is.
    ///
    /// Parsing is case-insensitive and accepts `normal` as [`Priority::Medium`]: the EngageLab
    /// document's own example sends `normal`, which its table does not list. Providers always
    /// send a listed value.
    ///
    /// ```
    /// use ticket_core::Priority;
    /// assert_eq!("normal".parse::<Priority>()?, Priority::Medium);
    /// assert_eq!("HIGH".parse::<Priority>()?, Priority::High);
    /// # Ok::<(), ticket_core::TicketError>(())
    /// ```
    Priority, "priority" {
        /// Low.
        Low => "low",
        /// Medium (also parsed from `normal`).
        Medium => "medium",
        /// High.
        High => "high",
        /// Urgent.
        Urgent => "urgent",
    }
);

impl Priority {
    fn parse_alias(lower: &str) -> Option<Self> {
        (lower == "normal").then_some(Priority::Medium)
    }
}

named_enum!(
    /// What kind of work a ticket is.
    TicketKind, "kind" {
        /// Something is broken.
        Incident => "incident",
        /// Someone asks something.
        Question => "question",
        /// The root cause behind incidents.
        Problem => "problem",
        /// A piece of work to do.
        Task => "task",
    }
);

impl TicketKind {
    fn parse_alias(_lower: &str) -> Option<Self> {
        None
    }
}

named_enum!(
    /// Where a ticket stands in its workflow: the unified statuses every provider maps.
    ///
    /// | unified | Feishu | Zendesk |
    /// |---|---|---|
    /// | `open` | 1 awaiting response | `open` |
    /// | `in_progress` | 2 in progress | `open` |
    /// | `pending` (waiting for the requester) | 5 awaiting user | `pending` |
    /// | `on_hold` (waiting for a third party) | 4 pending | `hold` |
    /// | `solved` | `solved: 2` (Feishu has no such status) | `solved` |
    /// | `closed` | 51 closed manually | `closed` |
    ///
    /// A provider's exact values (Feishu's `queued` or `closed_by_bot`, Zendesk's `new`) are
    /// reachable through [`NativeStatus`], usually built by the provider crate's own typed enum.
    TicketStatus, "status" {
        /// New or reopened, waiting for someone to act.
        Open => "open",
        /// Being worked on.
        InProgress => "in_progress",
        /// Waiting for the requester to answer.
        Pending => "pending",
        /// Waiting for a third party.
        OnHold => "on_hold",
        /// The problem is solved.
        Solved => "solved",
        /// Closed.
        Closed => "closed",
    }
);

impl TicketStatus {
    fn parse_alias(lower: &str) -> Option<Self> {
        match lower {
            "hold" => Some(TicketStatus::OnHold),
            _ => None,
        }
    }
}

/// One provider's own status value, carried exactly (Feishu's `closed_by_bot`, Zendesk's
/// `new`). Only the named provider carries it; for any other provider the status counts as
/// an unsupported field (refused, or dropped and reported under the lenient policy).
///
/// The provider checks the value when it maps the update (an unknown value is
/// [`TicketError::InvalidInput`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NativeStatus {
    provider: String,
    value: String,
}

impl NativeStatus {
    /// `value` of `provider` (a provider name, `[a-z0-9_-]+`); neither may be blank.
    pub fn new(provider: impl Into<String>, value: impl Into<String>) -> Result<Self, TicketError> {
        let provider = provider.into();
        let value = value.into();
        if !crate::update::valid_provider_name(&provider) {
            return Err(TicketError::invalid(
                "status",
                format!("provider name {provider:?} must match [a-z0-9_-]+"),
            ));
        }
        if value.trim().is_empty() {
            return Err(TicketError::invalid(
                "status",
                "a native status must not be blank",
            ));
        }
        Ok(Self { provider, value })
    }

    /// The provider that carries it.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// The provider's value, as given.
    pub fn value(&self) -> &str {
        &self.value
    }
}

/// The status an update sets: a unified [`TicketStatus`] or one provider's [`NativeStatus`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Status {
    /// A unified status, mapped by every provider that carries statuses.
    Unified(TicketStatus),
    /// One provider's exact value.
    Native(NativeStatus),
}

impl Status {
    /// The unified status, if this is one.
    pub fn unified(&self) -> Option<TicketStatus> {
        match self {
            Status::Unified(s) => Some(*s),
            Status::Native(_) => None,
        }
    }

    /// The native status, if this is one.
    pub fn native(&self) -> Option<&NativeStatus> {
        match self {
            Status::Native(s) => Some(s),
            Status::Unified(_) => None,
        }
    }

    /// Whether `provider` can carry this status value: every unified one, and its own
    /// native ones.
    pub fn is_for(&self, provider: &str) -> bool {
        match self {
            Status::Unified(_) => true,
            Status::Native(s) => s.provider == provider,
        }
    }
}

impl fmt::Display for Status {
    /// A unified status as its name (`in_progress`); a native one as `provider:value`
    /// (`feishu:closed_by_bot`), the form [`FromStr`] reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Unified(s) => f.write_str(s.as_str()),
            Status::Native(n) => write!(f, "{}:{}", n.provider, n.value),
        }
    }
}

impl FromStr for Status {
    type Err = TicketError;
    /// `in_progress` (a unified status) or `feishu:closed_by_bot` (a native one), for
    /// command lines and configuration.
    ///
    /// ```
    /// use ticket_core::{Status, TicketStatus};
    /// assert_eq!("on_hold".parse::<Status>()?, Status::Unified(TicketStatus::OnHold));
    /// assert_eq!("zendesk:new".parse::<Status>()?.native().map(|n| n.value()), Some("new"));
    /// # Ok::<(), ticket_core::TicketError>(())
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once(':') {
            Some((provider, value)) => Ok(Status::Native(NativeStatus::new(
                provider.trim(),
                value.trim(),
            )?)),
            None => Ok(Status::Unified(s.parse()?)),
        }
    }
}

impl From<TicketStatus> for Status {
    fn from(status: TicketStatus) -> Self {
        Status::Unified(status)
    }
}

impl From<NativeStatus> for Status {
    fn from(status: NativeStatus) -> Self {
        Status::Native(status)
    }
}

/// Who may read a comment. Unset, the provider's default applies (Zendesk: public).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommentVisibility {
    /// Visible to the requester.
    Public,
    /// Visible to agents only (an internal note).
    Internal,
}

impl CommentVisibility {
    /// `"public"` or `"internal"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            CommentVisibility::Public => "public",
            CommentVisibility::Internal => "internal",
        }
    }
}

impl FromStr for CommentVisibility {
    type Err = TicketError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "public" => Ok(CommentVisibility::Public),
            "internal" | "private" => Ok(CommentVisibility::Internal),
            _ => Err(TicketError::invalid(
                "comment.visibility",
                format!("unknown value {s:?}; expected public or internal"),
            )),
        }
    }
}

/// The id of a custom field: a number (Zendesk) or a string (Feishu). Each provider accepts
/// the forms its API can carry: Zendesk refuses an id that is not a whole number, Feishu
/// sends a number as its decimal text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CustomFieldId {
    /// A numeric id.
    Number(u64),
    /// A textual id (never blank).
    Text(String),
}

impl CustomFieldId {
    /// The id as a number: a numeric id, or a text id of ASCII digits only.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            CustomFieldId::Number(n) => Some(*n),
            CustomFieldId::Text(t) if t.bytes().all(|b| b.is_ascii_digit()) => t.parse().ok(),
            CustomFieldId::Text(_) => None,
        }
    }
}

impl fmt::Display for CustomFieldId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CustomFieldId::Number(n) => write!(f, "{n}"),
            CustomFieldId::Text(t) => f.write_str(t),
        }
    }
}

impl From<u64> for CustomFieldId {
    fn from(id: u64) -> Self {
        CustomFieldId::Number(id)
    }
}

impl From<u32> for CustomFieldId {
    fn from(id: u32) -> Self {
        CustomFieldId::Number(id.into())
    }
}

impl From<&str> for CustomFieldId {
    fn from(id: &str) -> Self {
        CustomFieldId::Text(id.to_owned())
    }
}

impl From<String> for CustomFieldId {
    fn from(id: String) -> Self {
        CustomFieldId::Text(id)
    }
}

/// The value of a custom field: one JSON scalar. Providers whose API types values as text
/// (Feishu) send numbers and booleans as their JSON text and refuse `null`.
#[derive(Debug, Clone, PartialEq)]
pub enum CustomValue {
    /// JSON `null` (clears the field where the provider allows it).
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A JSON number.
    Number(serde_json::Number),
    /// Text.
    Text(String),
}

impl CustomValue {
    /// The text, when the value is text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            CustomValue::Text(t) => Some(t),
            _ => None,
        }
    }

    /// The value as text for APIs that type custom values as strings: text as is, numbers
    /// and booleans as their JSON text; `None` for `null`.
    pub fn to_text(&self) -> Option<std::borrow::Cow<'_, str>> {
        match self {
            CustomValue::Null => None,
            CustomValue::Bool(b) => Some(b.to_string().into()),
            CustomValue::Number(n) => Some(n.to_string().into()),
            CustomValue::Text(t) => Some(t.as_str().into()),
        }
    }

    /// The value as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            CustomValue::Null => serde_json::Value::Null,
            CustomValue::Bool(b) => serde_json::Value::Bool(*b),
            CustomValue::Number(n) => serde_json::Value::Number(n.clone()),
            CustomValue::Text(t) => serde_json::Value::String(t.clone()),
        }
    }
}

impl serde::Serialize for CustomValue {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            CustomValue::Null => serializer.serialize_unit(),
            CustomValue::Bool(b) => serializer.serialize_bool(*b),
            CustomValue::Number(n) => n.serialize(serializer),
            CustomValue::Text(t) => serializer.serialize_str(t),
        }
    }
}

impl TryFrom<serde_json::Value> for CustomValue {
    type Error = TicketError;
    fn try_from(value: serde_json::Value) -> Result<Self, Self::Error> {
        use serde_json::Value;
        Ok(match value {
            Value::Null => CustomValue::Null,
            Value::Bool(b) => CustomValue::Bool(b),
            Value::Number(n) => CustomValue::Number(n),
            Value::String(s) => CustomValue::Text(s),
            Value::Array(_) | Value::Object(_) => {
                return Err(TicketError::invalid(
                    "custom_fields.value",
                    "a custom field value must be a JSON scalar (string, number, boolean or null)",
                ));
            }
        })
    }
}

impl From<&str> for CustomValue {
    fn from(v: &str) -> Self {
        CustomValue::Text(v.to_owned())
    }
}

impl From<String> for CustomValue {
    fn from(v: String) -> Self {
        CustomValue::Text(v)
    }
}

impl From<&String> for CustomValue {
    fn from(v: &String) -> Self {
        CustomValue::Text(v.clone())
    }
}

impl From<bool> for CustomValue {
    fn from(v: bool) -> Self {
        CustomValue::Bool(v)
    }
}

impl From<i64> for CustomValue {
    fn from(v: i64) -> Self {
        CustomValue::Number(v.into())
    }
}

impl From<i32> for CustomValue {
    fn from(v: i32) -> Self {
        CustomValue::Number(v.into())
    }
}

impl From<u64> for CustomValue {
    fn from(v: u64) -> Self {
        CustomValue::Number(v.into())
    }
}

impl From<serde_json::Number> for CustomValue {
    fn from(v: serde_json::Number) -> Self {
        CustomValue::Number(v)
    }
}

/// One custom field: a value addressed by a key, an id, or both (at least one).
///
/// EngageLab addresses custom fields by key, Zendesk by numeric id, Feishu by either (its
/// items have every key optional). A provider that cannot carry the ids or keys of an update
/// refuses them (or drops and reports them); one that needs them refuses a field without.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomField {
    key: Option<String>,
    value: CustomValue,
    id: Option<CustomFieldId>,
}

impl CustomField {
    /// A custom field addressed by key. The key must not be blank.
    pub fn new(key: impl Into<String>, value: impl Into<CustomValue>) -> Result<Self, TicketError> {
        Self {
            key: None,
            value: value.into(),
            id: None,
        }
        .with_key(key)
    }

    /// A custom field addressed by id only. A text id must not be blank.
    pub fn by_id(
        id: impl Into<CustomFieldId>,
        value: impl Into<CustomValue>,
    ) -> Result<Self, TicketError> {
        Self {
            key: None,
            value: value.into(),
            id: None,
        }
        .with_id(id)
    }

    /// Sets the key (must not be blank).
    pub fn with_key(mut self, key: impl Into<String>) -> Result<Self, TicketError> {
        let key = key.into();
        if key.trim().is_empty() {
            return Err(TicketError::invalid(
                "custom_fields",
                "a custom field key must not be empty",
            ));
        }
        self.key = Some(key);
        Ok(self)
    }

    /// Sets the provider's id of this custom field. A text id must not be blank.
    pub fn with_id(mut self, id: impl Into<CustomFieldId>) -> Result<Self, TicketError> {
        let id = id.into();
        if let CustomFieldId::Text(text) = &id
            && text.trim().is_empty()
        {
            return Err(TicketError::invalid(
                "custom_fields.id",
                format!("the id of custom field {} must not be empty", self.label()),
            ));
        }
        self.id = Some(id);
        Ok(self)
    }

    /// The key, when set.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// The value.
    pub fn value(&self) -> &CustomValue {
        &self.value
    }

    /// The provider's id, when set.
    pub fn id(&self) -> Option<&CustomFieldId> {
        self.id.as_ref()
    }

    /// How errors name this field: its key, else its id.
    pub fn label(&self) -> String {
        match (&self.key, &self.id) {
            (Some(key), _) => format!("{key:?}"),
            (None, Some(id)) => format!("with id {id}"),
            (None, None) => "(unnamed)".to_owned(),
        }
    }
}

/// A file attached to a ticket, given by an `http(s)` URL the helpdesk can fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    file_url: String,
}

impl Attachment {
    /// An attachment at `file_url`, which must be an absolute `http://` or `https://` URL with
    /// a host and no whitespace or control characters.
    pub fn new(file_url: impl Into<String>) -> Result<Self, TicketError> {
        let file_url = file_url.into();
        let lower = file_url.to_ascii_lowercase();
        let rest = lower
            .strip_prefix("https://")
            .or_else(|| lower.strip_prefix("http://"));
        let valid = match rest {
            Some(rest) => {
                !rest.is_empty()
                    && !rest.starts_with('/')
                    && !file_url
                        .chars()
                        .any(|c| c.is_whitespace() || c.is_control())
            }
            None => false,
        };
        if !valid {
            return Err(TicketError::invalid(
                "attachments",
                format!("{file_url:?} is not an absolute http(s) URL"),
            ));
        }
        Ok(Self { file_url })
    }

    /// The file's URL.
    pub fn file_url(&self) -> &str {
        &self.file_url
    }
}
