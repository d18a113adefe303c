//! A token store in one file, shared by the processes of one host.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use ticket_core::TicketError;

use super::{RefreshLock, TokenSet, TokenStore};

/// A token set kept in one file, for several processes on one host.
///
/// - **Lock:** an OS advisory lock (`flock` on Unix, through the `fs4` crate) on a sibling file
///   `<file>.lock`, held across re-read → refresh → write. The lock dies with its process, so a
///   crashed holder never blocks the others.
/// - **Writes are atomic:** a new temporary file with a unique name in the same directory
///   (`tempfile`, created `0600`), written and `fsync`ed, renamed over the file, then the
///   directory is `fsync`ed. The file is therefore always `0600`, even if it existed with wider
///   modes, and a planted temporary file cannot receive the secret.
/// - **No redirection:** a symlink at the token path or the lock path is refused with a
///   `Configuration` error.
/// - **Format:** JSON (`refresh_token`, `access_token`, `expires_at_ms`, `refresh_after_ms`,
///   `refresh_expires_at_ms`). A file holding just a refresh token (the format of earlier
///   versions) is read as such.
///
/// [`compare_and_swap`](TokenStore::compare_and_swap) is atomic against other processes only
/// under [`lock`](TokenStore::lock), which a [`RefreshingToken`](crate::RefreshingToken) always
/// holds when it saves.
#[derive(Clone)]
pub struct FileTokenStore {
    path: PathBuf,
    lock_path: PathBuf,
    dir: PathBuf,
}

impl fmt::Debug for FileTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileTokenStore")
            .field("path", &self.path)
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

    /// The token file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the file now (blocking): the stored set, or `None` when there is no file or it is
    /// empty.
    pub fn load_blocking(&self) -> Result<Option<TokenSet>, TicketError> {
        refuse_symlink(&self.path)?;
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.error("cannot read", &e)),
        };
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        if !text.starts_with('{') {
            // A bare refresh token, as earlier versions wrote it.
            return Ok(Some(TokenSet::new(text)));
        }
        let stored: Stored = serde_json::from_str(text).map_err(|e| {
            // serde_json's message names a position, never the content.
            TicketError::config(format!(
                "the Feishu token file {} is not a token set: {e}",
                self.path.display()
            ))
        })?;
        if stored.refresh_token.is_empty() {
            return Ok(None);
        }
        Ok(Some(TokenSet {
            refresh_token: stored.refresh_token.into(),
            access_token: stored
                .access_token
                .filter(|t| !t.is_empty())
                .map(SecretString::from),
            expires_at_ms: stored.expires_at_ms,
            refresh_after_ms: stored.refresh_after_ms,
            refresh_expires_at_ms: stored.refresh_expires_at_ms,
        }))
    }

    fn cas_blocking(&self, expected: &SecretString, new: &TokenSet) -> Result<bool, TicketError> {
        if let Some(current) = self.load_blocking()?
            && current.refresh_token.expose_secret() != expected.expose_secret()
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
        self.write_atomically(&body)
            .map_err(|e| self.error("cannot write", &e))?;
        Ok(true)
    }

    /// A unique `0600` temporary file in the same directory, fsynced, renamed over the file,
    /// then the directory fsynced.
    fn write_atomically(&self, body: &[u8]) -> io::Result<()> {
        refuse_symlink(&self.path).map_err(io::Error::other)?;
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

    fn lock_blocking(&self) -> Result<File, TicketError> {
        refuse_symlink(&self.lock_path)?;
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&self.lock_path).map_err(|e| {
            TicketError::config(format!(
                "cannot open the lock file {}: {e}",
                self.lock_path.display()
            ))
        })?;
        fs4::FileExt::lock(&file).map_err(|e| {
            TicketError::config(format!("cannot lock {}: {e}", self.lock_path.display()))
        })?;
        Ok(file)
    }

    fn error(&self, what: &str, e: &io::Error) -> TicketError {
        TicketError::config(format!(
            "{what} the Feishu token file {}: {e}",
            self.path.display()
        ))
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
        let this = self.clone();
        // The lock is released when the file is closed (the guard is dropped).
        Ok(RefreshLock::new(
            blocking(move || this.lock_blocking()).await?,
        ))
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
