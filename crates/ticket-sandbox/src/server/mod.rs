//! The HTTP server, split by role: connections, routing, dispatch of one request, and faults.

mod connection;
mod dispatch;
mod faults;
mod routing;

pub(crate) use connection::serve;
pub(crate) use dispatch::ReceivedRequest;
pub(crate) use routing::{ADMIN_PREFIX, FEISHU_TOKEN};
