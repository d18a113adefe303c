//! Behaviours where the vendor documents leave a choice: each sandbox picks one per instance.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What an EngageLab update without `priority` does to the stored priority.
///
/// The update document says an omitted `priority` "defaults to medium"; whether the live service
/// resets a stored `high` to `medium` or keeps it is not said. [`OmittedPriority::Reset`] (the
/// default) is the document's reading, so a client that leaves `priority` out loses it here too.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OmittedPriority {
    /// The stored priority becomes `medium`.
    #[default]
    Reset,
    /// The stored priority is kept.
    Keep,
}

/// Which EngageLab `GET` paths answer.
///
/// The vendor's Get Ticket pages disagree: some say `/api/v2/accounts/tickets/{id}` (as every
/// update page does), others `/v2/accounts/tickets/{id}`. [`EngageLabGetPaths::Both`] (the
/// default) serves both, and `Stats` counts which one was used; the other two serve one and answer
/// 404 on the other, so a test can prove a client uses the prefix it was configured with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EngageLabGetPaths {
    /// `/api/v2/...` and `/v2/...`.
    #[default]
    Both,
    /// Only `/api/v2/accounts/tickets/{id}`.
    Api,
    /// Only `/v2/accounts/tickets/{id}`.
    Bare,
}

impl EngageLabGetPaths {
    /// Whether `GET /api/v2/accounts/tickets/{id}` answers.
    pub(crate) fn serves_api(self) -> bool {
        matches!(self, Self::Both | Self::Api)
    }

    /// Whether `GET /v2/accounts/tickets/{id}` answers.
    pub(crate) fn serves_bare(self) -> bool {
        matches!(self, Self::Both | Self::Bare)
    }
}

/// The snake-case names, as the admin JSON and the command line spell them.
macro_rules! named {
    ($ty:ty { $($variant:ident = $name:literal),+ $(,)? }) => {
        impl $ty {
            /// The snake-case name.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name),+ }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($name => Ok(Self::$variant),)+
                    other => Err(format!(
                        "unknown value {other:?} (expected one of: {})",
                        [$($name),+].join(", ")
                    )),
                }
            }
        }
    };
}

named!(OmittedPriority { Reset = "reset", Keep = "keep" });
named!(EngageLabGetPaths { Both = "both", Api = "api", Bare = "bare" });

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for mode in [OmittedPriority::Reset, OmittedPriority::Keep] {
            assert_eq!(mode.as_str().parse::<OmittedPriority>().unwrap(), mode);
            assert_eq!(serde_json::to_string(&mode).unwrap(), format!("\"{mode}\""));
        }
        for paths in [
            EngageLabGetPaths::Both,
            EngageLabGetPaths::Api,
            EngageLabGetPaths::Bare,
        ] {
            assert_eq!(paths.as_str().parse::<EngageLabGetPaths>().unwrap(), paths);
            assert_eq!(
                serde_json::to_string(&paths).unwrap(),
                format!("\"{paths}\"")
            );
        }
        let err = "medium".parse::<OmittedPriority>().unwrap_err();
        assert!(err.contains("reset, keep"), "{err}");
    }
}
