//! A token store in one file, shared by the processes of one host.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use ticket_core::TicketError;

use super::set::{MAX_TOKEN_BYTES, checked_set, plausible_bare_token};
use super::{
    DEFAULT_LOCK_TIMEOUT, LockWait, RefreshLock, TokenSet, TokenStore, lock_timed_out,
    not_a_token_set, same_secret, unavailable,
};

/// The largest token file read: a token set is well under this; anything larger is not one.
const MAX_FILE_BYTES: u64 = 4 * MAX_TOKEN_BYTES as u64;

/// How often a waiter tries the lock again.
const LOCK_POLL: Duration = Duration::from_millis(20);

/// A token set kept in one file, for several processes on one host.
///
/// - **Lock:** an OS advisory lock (`flock` on Unix, through the `fs4` crate) on a sibling file
///   `<file>.lock`, held across re-read → refresh → write. The lock dies with its process, so a
///   crashed holder never blocks the others. A waiter gives up after
///   [`lock_timeout`](Self::lock_timeout) (default [`DEFAULT_LOCK_TIMEOUT`]) with a retryable
///   [`TicketError::Transport`] naming the file, so a frozen holder (a stopped process, a hung
///   disk) never blocks the others for longer.
/// - **Writes are atomic:** a new temporary file with a unique name in the same directory
///   (`tempfile`, created `0600`), written and `fsync`ed, renamed over the file, then the
///   directory is `fsync`ed. The file is therefore always `0600`, even if it existed with wider
///   modes, and a planted temporary file cannot receive the secret. A write that fails (a full
///   disk, a read-only or immutable directory) is a retryable [`TicketError::Transport`].
/// - **No redirection:** a symlink at the token path or the lock path is refused with a
///   `Configuration` error.
/// - **Format:** JSON (`refresh_token`, `access_token`, `expires_at_ms`, `refresh_after_ms`,
///   `refresh_expires_at_ms`). A file holding just a refresh token (the format of earlier
///   versions) is read as such when it plausibly is one token (letters, digits and `-._~+/=:`,
///   at most 8 KiB). Anything else (an HTML page, truncated JSON, a token with whitespace) is a
///   `Configuration` error naming the file, never quoting it: nothing is sent to Feishu.
///
/// [`compare_and_swap`](TokenStore::compare_and_swap) is atomic against other processes only
/// under [`lock`](TokenStore::lock), which a [`RefreshingToken`](crate::RefreshingToken) always
/// holds when it saves.
#[derive(Clone)]
pub struct FileTokenStore {
    path: PathBuf,
    lock_path: PathBuf,
    dir: PathBuf,
    lock_timeout: Duration,
}

impl fmt::Debug for FileTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileTokenStore")
            .field("path", &self.path)
            .field("lock_timeout", &self.lock_timeout)
            .finish()
    }
}

#[derive(Serialize, Deserialize)]
struct Stored {
    refresh_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_after_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_expires_at_ms: Option<u64>,
}

impl FileTokenStore {
    /// A store at `path`. Checks now, and fails naming the path, that its directory exists and is
    /// writable (by creating and removing a temporary file there) and that neither the path nor
    /// `<path>.lock` is a symlink. The file itself need not exist yet.
    pub fn new(path: impl Into<PathBuf>) -> Result<Self, TicketError> {
        let path: PathBuf = path.into();
        let Some(name) = path.file_name() else {
            return Err(TicketError::config(format!(
                "the Feishu token file {} has no file name",
                path.display()
            )));
        };
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut lock_name = name.to_os_string();
        lock_name.push(".lock");
        let store = Self {
            lock_path: dir.join(lock_name),
            path,
            dir,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
        };
        match std::fs::metadata(&store.dir) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(TicketError::config(format!(
                    "the directory of the Feishu token file {} is not a directory",
                    store.path.display()
                )));
            }
            Err(e) => {
                return Err(TicketError::config(format!(
                    "the directory of the Feishu token file {} is missing or unreadable: {e}",
                    store.path.display()
                )));
            }
        }
        refuse_symlink(&store.path)?;
        refuse_symlink(&store.lock_path)?;
        tempfile::Builder::new()
            .prefix(".feishu-token-check.")
            .tempfile_in(&store.dir)
            .map_err(|e| {
                TicketError::config(format!(
                    "the directory {} of the Feishu token file {} is not writable: {e}",
                    store.dir.display(),
                    store.path.display()
                ))
            })?;
        Ok(store)
    }

    /// How long [`lock`](TokenStore::lock) waits for another process's lock before failing with
    /// a retryable [`TicketError::Transport`] (default [`DEFAULT_LOCK_TIMEOUT`]; keep it above
    /// one refresh request's timeout, or a waiter gives up on a healthy holder).
    #[must_use]
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// The token file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the file now (blocking): the stored set, or `None` when there is no file or it is
    /// empty. Contents that are not a token set are a `Configuration` error naming the file.
    pub fn load_blocking(&self) -> Result<Option<TokenSet>, TicketError> {
        refuse_symlink(&self.path)?;
        let mut bytes = Vec::new();
        match File::open(&self.path) {
            Ok(file) => file
                .take(MAX_FILE_BYTES + 1)
                .read_to_end(&mut bytes)
                .map_err(|e| self.io_error("cannot read", e))?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io_error("cannot read", e)),
        };
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(self.not_a_token_set("it is larger than any token set"));
        }
        let Ok(text) = std::str::from_utf8(&bytes) else {
            return Err(self.not_a_token_set("it is not UTF-8 text"));
        };
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        if !text.starts_with('{') {
            // A bare refresh token, as earlier versions wrote it; only if it can be one.
            if !plausible_bare_token(text) {
                return Err(self.not_a_token_set(
                    "it is neither JSON nor one bare refresh token (letters, digits, -._~+/=:)",
                ));
            }
            return Ok(Some(TokenSet::new(text)));
        }
        let stored: Stored = serde_json::from_str(text).map_err(|e| {
            // Only the category and position: serde's own message may quote a value.
            self.not_a_token_set(&format!(
                "invalid JSON ({:?} error at line {} column {})",
                e.classify(),
                e.line(),
                e.column()
            ))
        })?;
        checked_set(
            stored.refresh_token,
            stored.access_token,
            stored.expires_at_ms,
            stored.refresh_after_ms,
            stored.refresh_expires_at_ms,
        )
        .map_err(|why| self.not_a_token_set(&why))
    }

    fn cas_blocking(&self, expected: &SecretString, new: &TokenSet) -> Result<bool, TicketError> {
        if let Some(current) = self.load_blocking()?
            && !same_secret(&current.refresh_token, expected)
        {
            return Ok(false);
        }
        let stored = Stored {
            refresh_token: new.refresh_token.expose_secret().to_owned(),
            access_token: new
                .access_token
                .as_ref()
                .map(|t| t.expose_secret().to_owned()),
            expires_at_ms: new.expires_at_ms,
            refresh_after_ms: new.refresh_after_ms,
            refresh_expires_at_ms: new.refresh_expires_at_ms,
        };
        let body = serde_json::to_vec(&stored)
            .map_err(|e| TicketError::config(format!("cannot encode the token set: {e}")))?;
        refuse_symlink(&self.path)?;
        self.write_atomically(&body)
            .map_err(|e| self.io_error("cannot write", e))?;
        Ok(true)
    }

    /// A unique `0600` temporary file in the same directory, fsynced, renamed over the file,
    /// then the directory fsynced.
    fn write_atomically(&self, body: &[u8]) -> io::Result<()> {
        let mut builder = tempfile::Builder::new();
        builder.prefix(".feishu-token.").suffix(".tmp");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o600));
        }
        let mut tmp = builder.tempfile_in(&self.dir)?;
        tmp.write_all(body)?;
        tmp.as_file().sync_all()?;
        tmp.persist(&self.path).map_err(|e| e.error)?;
        #[cfg(unix)]
        File::open(&self.dir)?.sync_all()?;
        Ok(())
    }

    fn open_lock_file(&self) -> Result<File, TicketError> {
        refuse_symlink(&self.lock_path)?;
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options.open(&self.lock_path).map_err(|e| {
            unavailable(
                format!(
                    "cannot open the lock file {} of the Feishu token store",
                    self.lock_path.display()
                ),
                Some(Arc::new(e)),
            )
        })
    }

    /// A failure to reach the file: retryable.
    fn io_error(&self, what: &str, e: io::Error) -> TicketError {
        unavailable(
            format!("{what} the Feishu token file {}", self.path.display()),
            Some(Arc::new(e)),
        )
    }

    /// Contents that are not a token set: a person must fix (or delete) the file.
    fn not_a_token_set(&self, why: &str) -> TicketError {
        not_a_token_set(
            format_args!("the Feishu token file {}", self.path.display()),
            why,
        )
    }
}

fn refuse_symlink(path: &Path) -> Result<(), TicketError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(TicketError::config(format!(
            "{} is a symlink; refusing to follow it for a secret (give the real path)",
            path.display()
        ))),
        _ => Ok(()),
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, TicketError> + Send + 'static,
) -> Result<T, TicketError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| TicketError::config(format!("the token file task failed: {e}")))?
}

#[async_trait]
impl TokenStore for FileTokenStore {
    async fn load(&self) -> Result<Option<TokenSet>, TicketError> {
        let this = self.clone();
        blocking(move || this.load_blocking()).await
    }

    async fn compare_and_swap(
        &self,
        expected: &SecretString,
        new: &TokenSet,
    ) -> Result<bool, TicketError> {
        let (this, expected, new) = (self.clone(), expected.clone(), new.clone());
        blocking(move || this.cas_blocking(&expected, &new)).await
    }

    async fn lock(&self) -> Result<RefreshLock, TicketError> {
        let wait = LockWait::new(self.lock_timeout, LOCK_POLL);
        let this = self.clone();
        let file = blocking(move || this.open_lock_file()).await?;
        // `flock` dies with its holder, so a crashed one frees the next try.
        loop {
            match fs4::FileExt::try_lock(&file) {
                // The lock is released when the file is closed (the guard is dropped).
                Ok(()) => return Ok(RefreshLock::new(file)),
                Err(fs4::TryLockError::WouldBlock) => {}
                Err(fs4::TryLockError::Error(e)) => {
                    return Err(unavailable(
                        format!("cannot lock {}", self.lock_path.display()),
                        Some(Arc::new(e)),
                    ));
                }
            }
            if !wait.next_try().await {
                return Err(lock_timed_out(
                    format!("file {}", self.path.display()),
                    self.lock_timeout,
                ));
            }
        }
    }

    fn lock_timeout(&self) -> Duration {
        self.lock_timeout
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn writes_are_0600_atomic_and_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        // An existing file with wide modes and a legacy bare token.
        std::fs::write(&path, "ur-legacy\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        let store = FileTokenStore::new(&path).unwrap();
        let legacy = store.load().await.unwrap().unwrap();
        assert_eq!(legacy.refresh_token.expose_secret(), "ur-legacy");
        let _lock = store.lock().await.unwrap();
        let new = TokenSet::new("ur-2").with_access_token("u-2", Some(10), Some(5));
        // A stale expectation is refused and changes nothing.
        assert!(
            !store
                .compare_and_swap(&"ur-other".to_owned().into(), &new)
                .await
                .unwrap()
        );
        assert!(
            store
                .compare_and_swap(&legacy.refresh_token, &new)
                .await
                .unwrap()
        );
        let back = store.load().await.unwrap().unwrap();
        assert_eq!(back.refresh_token.expose_secret(), "ur-2");
        assert_eq!(back.access_token.unwrap().expose_secret(), "u-2");
        assert_eq!(
            (back.expires_at_ms, back.refresh_after_ms),
            (Some(10), Some(5))
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // No temporary file is left behind.
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["token", "token.lock"]);
    }

    #[tokio::test]
    async fn a_lock_timeout_beyond_the_clock_waits_without_a_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileTokenStore::new(dir.path().join("token"))
            .unwrap()
            .lock_timeout(Duration::MAX);
        // A free lock is taken; the wait's deadline is never computed by an overflowing sum.
        let _lock = store.lock().await.unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_token_path_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, "x").unwrap();
        let link = dir.path().join("token");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = FileTokenStore::new(&link).unwrap_err();
        assert_eq!(err.kind(), ticket_core::ErrorKind::Configuration);
        assert!(err.to_string().contains("symlink"), "{err}");
        assert!(
            err.to_string().contains(&link.display().to_string()),
            "{err}"
        );
        // A symlink planted after construction is refused at write time too.
        let path = dir.path().join("token2");
        let store = FileTokenStore::new(&path).unwrap();
        std::os::unix::fs::symlink(&target, &path).unwrap();
        let err = store
            .cas_blocking(&"a".to_owned().into(), &TokenSet::new("b"))
            .unwrap_err();
        assert!(err.to_string().contains("symlink"), "{err}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "x");
    }

    #[test]
    fn a_missing_directory_is_refused_at_construction() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("token");
        let err = FileTokenStore::new(&path).unwrap_err();
        assert_eq!(err.kind(), ticket_core::ErrorKind::Configuration);
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
    }
}
