//! The updates the suite sends, built from a provider's [`Capabilities`]: each field set to a
//! value distinctive enough to be found in any body, so that the oracle needs no knowledge of
//! the wire.

use ticket_core::{
    Capabilities, CommentVisibility, Field, FieldSet, Priority, TicketKind, TicketStatus,
    TicketUpdateBuilder,
};

/// The title sent by every update that carries one.
pub(crate) const TITLE: &str = "cf-title-Qx71";
/// The description.
pub(crate) const DESCRIPTION: &str = "cf-description-Vb28";
/// Two tags (both must arrive).
pub(crate) const TAGS: [&str; 2] = ["cf-tag-Lm40", "cf-tag-Pz93"];
/// The attachment's URL, and the part of it that must arrive (a provider may send the URL
/// with its own escaping of `/`).
pub(crate) const ATTACHMENT: &str = "https://files.example.com/cf-attachment-Ty62.png";
const ATTACHMENT_MARK: &str = "cf-attachment-Ty62";
/// The comment.
pub(crate) const COMMENT: &str = "cf-comment-Ne37";
/// The keys of the two custom fields.
pub(crate) const KEYS: [&str; 2] = ["cf_key_Ra16", "cf_key_Ws84"];
/// Their numeric ids (some providers take numbers only).
pub(crate) const IDS: [u64; 2] = [91_002_731, 91_002_746];
const ID_TEXTS: [&str; 2] = ["91002731", "91002746"];
/// Their values: text, and a number (which a provider may send as text).
pub(crate) const VALUE_TEXT: &str = "cf-value-Hd55";
pub(crate) const VALUE_NUMBER: u64 = 7_310_417;
const VALUE_NUMBER_TEXT: &str = "7310417";

/// Fields whose values are text the body must hold, in the order they are checked.
pub(crate) const TEXT_FIELDS: [Field; 6] = [
    Field::Title,
    Field::Description,
    Field::Tags,
    Field::CustomFields,
    Field::Attachments,
    Field::Comment,
];

/// The updates for one provider.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Updates {
    pub(crate) caps: Capabilities,
}

impl Updates {
    pub(crate) fn new(caps: Capabilities) -> Self {
        Self { caps }
    }

    fn supports(&self, field: Field) -> bool {
        self.caps.supports(field)
    }

    /// `b` with `field` set to the suite's value for it. Custom fields get an id and a key
    /// when the provider carries them ([`Field::CustomFieldIds`] and [`Field::CustomFieldKeys`]
    /// are set with [`Field::CustomFields`]); comment visibility comes with a comment.
    pub(crate) fn set(&self, b: TicketUpdateBuilder, field: Field) -> TicketUpdateBuilder {
        match field {
            Field::Title => b.title(TITLE),
            Field::Description => b.description(DESCRIPTION),
            Field::Priority => b.priority(Priority::High),
            Field::Kind => b.kind(TicketKind::Incident),
            Field::Tags => b.tags(TAGS),
            Field::CustomFields | Field::CustomFieldIds | Field::CustomFieldKeys => {
                self.custom_fields(b)
            }
            Field::Attachments => b.attachment(ATTACHMENT),
            // Closed contradicts neither value of `solved`.
            Field::Status => b.status(TicketStatus::Closed),
            Field::Solved => b.solved(true),
            Field::Comment => b.comment(COMMENT),
            Field::CommentVisibility => b
                .comment(COMMENT)
                .comment_visibility(CommentVisibility::Internal),
            // A field added to the vocabulary later: the suite must learn it first.
            other => panic!("[setup] the testkit has no value for the field {other}"),
        }
    }

    /// Two custom fields, one with a text value and one with a number, each with an id and a
    /// key as far as the provider carries them.
    fn custom_fields(&self, b: TicketUpdateBuilder) -> TicketUpdateBuilder {
        let (ids, keys) = (
            self.supports(Field::CustomFieldIds),
            self.supports(Field::CustomFieldKeys),
        );
        let mut b = b;
        for i in 0..2 {
            b = match (ids, keys, i) {
                (true, true, 0) => b.custom_field_with_id(IDS[0], KEYS[0], VALUE_TEXT),
                (true, true, _) => b.custom_field_with_id(IDS[1], KEYS[1], VALUE_NUMBER),
                (true, false, 0) => b.custom_field_by_id(IDS[0], VALUE_TEXT),
                (true, false, _) => b.custom_field_by_id(IDS[1], VALUE_NUMBER),
                (false, true, 0) => b.custom_field(KEYS[0], VALUE_TEXT),
                (false, true, _) => b.custom_field(KEYS[1], VALUE_NUMBER),
                (false, false, _) => panic!(
                    "[setup] the provider claims custom fields but neither their ids nor their keys"
                ),
            };
        }
        b
    }

    /// The text `field`, set by [`set`](Self::set), must leave in the body, each with the
    /// field it stands for (a custom field's key stands for [`Field::CustomFieldKeys`]).
    pub(crate) fn marks(&self, field: Field) -> Vec<(Field, &'static str)> {
        match field {
            Field::Title => vec![(field, TITLE)],
            Field::Description => vec![(field, DESCRIPTION)],
            Field::Tags => TAGS.iter().map(|t| (field, *t)).collect(),
            Field::Attachments => vec![(field, ATTACHMENT_MARK)],
            Field::Comment => vec![(field, COMMENT)],
            Field::CustomFields => {
                let mut marks = vec![(field, VALUE_TEXT), (field, VALUE_NUMBER_TEXT)];
                if self.supports(Field::CustomFieldIds) {
                    marks.extend(ID_TEXTS.iter().map(|t| (Field::CustomFieldIds, *t)));
                }
                if self.supports(Field::CustomFieldKeys) {
                    marks.extend(KEYS.iter().map(|k| (Field::CustomFieldKeys, *k)));
                }
                marks
            }
            _ => Vec::new(),
        }
    }

    /// The fields every update must carry: those the provider requires, and those its update
    /// would reset when left out ([`Capabilities::must_carry`]).
    pub(crate) fn base(&self) -> TicketUpdateBuilder {
        self.caps
            .must_carry()
            .iter()
            .fold(TicketUpdateBuilder::default(), |b, f| self.set(b, f))
    }

    /// The smallest update the provider accepts: [`base`](Self::base), and one supported
    /// field when the provider needs at least one and requires none.
    pub(crate) fn minimal(&self) -> TicketUpdateBuilder {
        let b = self.base();
        if !self.caps.requires_any_field || !self.caps.must_carry().is_empty() {
            return b;
        }
        let first = [
            Field::Tags,
            Field::Title,
            Field::Description,
            Field::Attachments,
            Field::Priority,
            Field::Kind,
            Field::Status,
            Field::CustomFields,
            Field::Solved,
            Field::Comment,
        ]
        .into_iter()
        .find(|f| self.supports(*f))
        .expect("[setup] the provider needs a field on every update but carries none");
        self.set(b, first)
    }

    /// Every supported field at once, but those in `except`.
    pub(crate) fn full_except(&self, except: FieldSet) -> TicketUpdateBuilder {
        let fields = self.caps.supported.difference(except);
        let mut b = self.base();
        for field in fields.difference(self.caps.must_carry()).iter() {
            // Set with custom fields and comments; a comment is internal only when the
            // provider carries visibility.
            if matches!(field, Field::CustomFieldIds | Field::CustomFieldKeys)
                || (field == Field::Comment && fields.contains(Field::CommentVisibility))
            {
                continue;
            }
            b = self.set(b, field);
        }
        b
    }

    /// Every supported field at once.
    pub(crate) fn full(&self) -> TicketUpdateBuilder {
        self.full_except(FieldSet::EMPTY)
    }

    /// Every supported field whose update is idempotent (what errors and retries send, so that
    /// every retryable answer is retried).
    pub(crate) fn idempotent(&self) -> TicketUpdateBuilder {
        let mut except = self.caps.non_idempotent;
        if except.contains(Field::Comment) {
            except = except.with(Field::CommentVisibility);
        }
        self.full_except(except)
    }
}
