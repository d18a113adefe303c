//! Feishu user access tokens that refresh themselves, and the stores that share their chain of
//! refresh tokens between processes.
//!
//! One job per file: `oauth` speaks to Feishu's token endpoint; `refreshing` is the source
//! (cache, single flight, bounded waits); `refresh` is one refresh under the store's lock;
//! `sync` keeps the store and the source on one newest set; `builder` checks the settings;
//! `store` holds the stores.

mod builder;
mod oauth;
mod refresh;
mod refreshing;
mod store;
mod sync;

pub use self::builder::RefreshingTokenBuilder;
pub use self::oauth::{MAX_TOKEN_LIFETIME, TOKEN_PATH};
pub(crate) use self::oauth::{refresh_delay, server_lifetime};
pub use self::refreshing::RefreshingToken;
#[cfg(feature = "redis")]
pub use self::store::RedisTokenStore;
pub use self::store::{
    DEFAULT_LOCK_TIMEOUT, FileTokenStore, MemoryTokenStore, RefreshLock, TokenSet, TokenStore,
};
