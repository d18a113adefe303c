//! Validated values that make up an update, one concept a file: ids, priorities and kinds,
//! statuses, comment visibility, custom fields, attachments.

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
                // Compared without case, and without the lowercase copy a comparison with
                // `==` would need (every line of `helpdesk apply` parses one or two).
                let name = s.trim();
                $(if name.eq_ignore_ascii_case($text) { return Ok($name::$variant); })+
                Self::parse_alias(name).ok_or_else(|| {
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

/// Whether `text` is empty or only whitespace (what `text.trim().is_empty()` says, without
/// scanning a non-blank text from both ends): the one test of "blank" every check uses.
pub(crate) fn blank(text: &str) -> bool {
    text.chars().all(char::is_whitespace)
}

/// Refuses `name` unless it is a provider name, `[a-z0-9_-]+`; the error names `field`.
pub(crate) fn check_provider_name(field: &str, name: &str) -> Result<(), crate::TicketError> {
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(crate::TicketError::invalid(
            field,
            format!("provider name {name:?} must match [a-z0-9_-]+"),
        ))
    }
}

mod attachment;
mod comment;
mod custom;
mod id;
mod priority_kind;
mod status;

pub use attachment::Attachment;
pub use comment::CommentVisibility;
#[cfg(feature = "serde")]
pub(crate) use custom::unaddressed;
pub use custom::{CustomField, CustomFieldId, CustomValue};
pub use id::TicketId;
pub use priority_kind::{Priority, TicketKind};
pub use status::{NativeStatus, Status, TicketStatus};

#[cfg(test)]
mod tests {
    use super::{Priority, TicketKind, TicketStatus};

    /// Names and aliases are read trimmed and without case; anything else is refused with
    /// the list of names.
    #[test]
    fn named_values_parse_without_case_or_padding() {
        assert_eq!(
            " In_Progress ".parse::<TicketStatus>().ok(),
            Some(TicketStatus::InProgress)
        );
        assert_eq!(
            "HOLD".parse::<TicketStatus>().ok(),
            Some(TicketStatus::OnHold)
        );
        assert_eq!("Normal".parse::<Priority>().ok(), Some(Priority::Medium));
        assert_eq!("urgent".parse::<Priority>().ok(), Some(Priority::Urgent));
        assert_eq!(
            "PROBLEM".parse::<TicketKind>().ok(),
            Some(TicketKind::Problem)
        );
        let err = "holds"
            .parse::<TicketStatus>()
            .expect_err("no such status")
            .to_string();
        assert!(
            err.contains("\"holds\"") && err.contains("on_hold"),
            "{err}"
        );
        assert!("normal".parse::<TicketKind>().is_err());
    }
}
