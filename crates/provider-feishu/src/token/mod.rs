//! Feishu user access tokens that refresh themselves, and the stores that share their chain of
//! refresh tokens between processes.

mod refreshing;
mod store;

pub use self::refreshing::{
    MAX_TOKEN_LIFETIME, RefreshingToken, RefreshingTokenBuilder, TOKEN_PATH,
};
#[cfg(feature = "redis")]
pub use self::store::RedisTokenStore;
pub use self::store::{
    DEFAULT_LOCK_TIMEOUT, FileTokenStore, MemoryTokenStore, RefreshLock, TokenSet, TokenStore,
};
