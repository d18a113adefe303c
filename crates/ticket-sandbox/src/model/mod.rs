//! Public data types: credentials, tickets, field definitions, modes, counters and recorded
//! requests.

mod credentials;
mod engagelab;
mod feishu;
mod modes;
mod stats;

pub use credentials::Credentials;
pub use engagelab::{EngageLabAttachment, EngageLabTicket};
pub use feishu::{
    FeishuComment, FeishuCustomizedField, FeishuDropdownOption, FeishuFieldDef, FeishuTicket,
};
pub use modes::{EngageLabGetPaths, OmittedPriority};
pub use stats::{RecordedRequest, Stats};
