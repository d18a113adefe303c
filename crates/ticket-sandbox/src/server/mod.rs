//! The HTTP server, split by role: connections, routing, dispatch of one request, and faults.

mod connection;
mod dispatch;
mod faults;
mod routing;

pub(crate) use connection::serve;
pub(crate) use dispatch::ReceivedRequest;
pub(crate) use routing::{
    ADMIN_PREFIX, ENGAGELAB_BARE_TICKETS, ENGAGELAB_TICKETS, FEISHU_FIELDS, FEISHU_TENANT_TOKEN,
    FEISHU_TICKETS, FEISHU_TOKEN,
};
