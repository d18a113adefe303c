//! The system's root certificates, read once per process and only when a certificate is
//! checked: the bundle file first and alone; the certificate directories only when the bundle's
//! roots do not vouch for a certificate.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;

/// Reads of a set of the system's roots (see [`super::system_root_reads`]).
pub(super) static READS: AtomicUsize = AtomicUsize::new(0);

/// The system's roots of this process.
pub(super) fn get() -> &'static SystemRoots {
    static ROOTS: OnceLock<SystemRoots> = OnceLock::new();
    ROOTS.get_or_init(|| SystemRoots {
        paths: RootPaths::find(&|name| std::env::var_os(name), &|| {
            let found = openssl_probe::probe();
            (found.cert_file, found.cert_dir)
        }),
        first: OnceLock::new(),
        all: OnceLock::new(),
    })
}

/// The system's roots in two sets, each read at its first use.
///
/// A bundle file and a certificate directory usually hold the same roots (Debian's
/// `ca-certificates.crt` and `/etc/ssl/certs`, Fedora's `ca-bundle.crt` and its directory):
/// reading both, as rustls-native-certs does, reads every root twice. So the bundle is read
/// alone ([`first`](Self::first)), and the directories too ([`all`](Self::all)) only if a
/// certificate is refused for want of its issuer; that is when OpenSSL consults its directory
/// too, so the roots trusted are the same as before.
pub(super) struct SystemRoots {
    paths: RootPaths,
    first: OnceLock<Arc<RootCertStore>>,
    all: OnceLock<Arc<RootCertStore>>,
}

impl SystemRoots {
    /// The bundle's roots; the directories' when there is no bundle, or none could be read
    /// from it.
    pub(super) fn first(&self) -> &Arc<RootCertStore> {
        self.first.get_or_init(|| {
            if let Some(file) = &self.paths.file {
                let bundle = RootPaths {
                    file: Some(file.clone()),
                    dirs: Vec::new(),
                }
                .load();
                if !bundle.is_empty() || self.paths.dirs.is_empty() {
                    return Arc::new(bundle);
                }
            }
            Arc::clone(self.all())
        })
    }

    /// Whether [`all`](Self::all) can trust more than [`first`](Self::first).
    pub(super) fn has_more(&self) -> bool {
        self.paths.file.is_some() && !self.paths.dirs.is_empty()
    }

    /// The roots of the bundle and of the directories.
    pub(super) fn all(&self) -> &Arc<RootCertStore> {
        self.all.get_or_init(|| Arc::new(self.paths.load()))
    }

    /// Where roots were looked for, for the error when none was found.
    pub(super) fn places(&self) -> String {
        let mut places: Vec<String> = self
            .paths
            .file
            .iter()
            .map(|f| f.display().to_string())
            .collect();
        places.extend(self.paths.dirs.iter().map(|d| d.display().to_string()));
        if places.is_empty() {
            "no bundle file or certificate directory was found".to_owned()
        } else {
            format!("looked in {}", places.join(", "))
        }
    }
}

/// Where the system's roots are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RootPaths {
    pub(super) file: Option<PathBuf>,
    pub(super) dirs: Vec<PathBuf>,
}

impl RootPaths {
    /// `SSL_CERT_FILE` and `SSL_CERT_DIR` when either is set (as OpenSSL and
    /// rustls-native-certs read them); else OpenSSL's usual places (`probe`: a bundle file,
    /// certificate directories).
    pub(super) fn find(
        env: &dyn Fn(&str) -> Option<std::ffi::OsString>,
        probe: &dyn Fn() -> (Option<PathBuf>, Vec<PathBuf>),
    ) -> Self {
        let file = env("SSL_CERT_FILE")
            .filter(|f| !f.is_empty())
            .map(PathBuf::from);
        let dirs: Vec<PathBuf> = env("SSL_CERT_DIR")
            .map(|d| {
                std::env::split_paths(&d)
                    .filter(|p| !p.as_os_str().is_empty())
                    .collect()
            })
            .unwrap_or_default();
        if file.is_some() || !dirs.is_empty() {
            return Self { file, dirs };
        }
        let (file, dirs) = probe();
        Self { file, dirs }
    }

    /// Every certificate of the file and of the directories' files, each distinct one parsed
    /// once. Unreadable files and unparsable certificates are skipped (one bad file must not
    /// cost every other root), as rustls-platform-verifier does; no root at all is an error at
    /// the certificate check.
    pub(super) fn load(&self) -> RootCertStore {
        READS.fetch_add(1, Ordering::SeqCst);
        let mut ders = Vec::new();
        if let Some(file) = &self.file {
            read_certificates(file, &mut ders);
        }
        for dir in &self.dirs {
            read_directory(dir, &mut ders);
        }
        // One root under several names (a directory's hashed links and its own file).
        ders.sort_unstable();
        ders.dedup();
        let mut store = RootCertStore::empty();
        store.add_parsable_certificates(ders.into_iter().map(CertificateDer::from));
        store
    }
}

/// The certificates of a PEM file, appended to `ders`: the file read whole, and decoded by the
/// one PEM reader of this crate (`ca_file`'s).
fn read_certificates(path: &Path, ders: &mut Vec<Vec<u8>>) {
    if let Ok(text) = std::fs::read(path) {
        ders.extend(super::pem_blocks(&text).into_iter().filter_map(Result::ok));
    }
}

/// The certificates of every file of `dir`, each file read once however many links name it.
fn read_directory(dir: &Path, ders: &mut Vec<Vec<u8>>) {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut seen = std::collections::HashSet::new();
    for entry in entries.flatten() {
        let path = entry.path();
        // Follows links: a hashed name and the file it points to are one file.
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_file() && seen.insert((meta.dev(), meta.ino())) {
            read_certificates(&path, ders);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::path::PathBuf;

    use super::*;

    fn pem(name: &str) -> String {
        rcgen::generate_simple_self_signed(vec![name.to_owned()])
            .unwrap()
            .cert
            .pem()
    }

    #[test]
    fn the_environment_wins_over_openssls_usual_places() {
        let probe = || (Some(PathBuf::from("/b.pem")), vec![PathBuf::from("/d")]);
        let no_env = |_: &str| None;
        assert_eq!(
            RootPaths::find(&no_env, &probe),
            RootPaths {
                file: Some("/b.pem".into()),
                dirs: vec!["/d".into()]
            }
        );
        let env = |name: &str| match name {
            "SSL_CERT_FILE" => Some("/env.pem".into()),
            "SSL_CERT_DIR" => Some("/e1:/e2".into()),
            _ => None,
        };
        assert_eq!(
            RootPaths::find(&env, &probe),
            RootPaths {
                file: Some("/env.pem".into()),
                dirs: vec!["/e1".into(), "/e2".into()]
            }
        );
        let only_dir = |name: &str| (name == "SSL_CERT_DIR").then(|| "/e1".into());
        assert_eq!(
            RootPaths::find(&only_dir, &probe),
            RootPaths {
                file: None,
                dirs: vec!["/e1".into()]
            }
        );
    }

    /// A bundle `a b`, a directory `a` (twice, by a hashed link), `c`, garbage and a cut file.
    fn system(dir: &Path) -> RootPaths {
        let (a, b, c) = (pem("a.test"), pem("b.test"), pem("c.test"));
        let bundle = dir.join("bundle.pem");
        std::fs::write(&bundle, format!("{a}{b}")).unwrap();
        let certs = dir.join("certs");
        std::fs::create_dir(&certs).unwrap();
        std::fs::write(certs.join("a.pem"), &a).unwrap();
        std::os::unix::fs::symlink(certs.join("a.pem"), certs.join("1a2b3c4d.0")).unwrap();
        std::fs::write(certs.join("c.pem"), &c).unwrap();
        std::fs::write(certs.join("garbage.pem"), "not a certificate").unwrap();
        std::fs::write(certs.join("cut.pem"), &c[..c.len() / 2]).unwrap();
        RootPaths {
            file: Some(bundle),
            dirs: vec![certs, dir.join("missing")],
        }
    }

    #[test]
    fn roots_are_parsed_once_however_many_names_they_have_and_bad_files_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        // a (three names), b and c (two names each): three roots.
        assert_eq!(system(dir.path()).load().roots.len(), 3);
    }

    #[test]
    fn the_bundle_is_read_alone_and_the_directories_only_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let roots = SystemRoots {
            paths: system(dir.path()),
            first: OnceLock::new(),
            all: OnceLock::new(),
        };
        assert!(roots.has_more());
        assert_eq!(roots.first().roots.len(), 2, "the bundle alone");
        assert!(roots.all.get().is_none(), "the directories were read");
        assert_eq!(roots.all().roots.len(), 3);
        // Without a bundle, the directories are the first set.
        let no_bundle = SystemRoots {
            paths: RootPaths {
                file: None,
                dirs: roots.paths.dirs.clone(),
            },
            first: OnceLock::new(),
            all: OnceLock::new(),
        };
        assert!(!no_bundle.has_more());
        assert_eq!(no_bundle.first().roots.len(), 2, "a and c");
        // A bundle with no certificate in it: the directories.
        std::fs::write(roots.paths.file.as_ref().unwrap(), "").unwrap();
        let empty_bundle = SystemRoots {
            paths: roots.paths.clone(),
            first: OnceLock::new(),
            all: OnceLock::new(),
        };
        assert_eq!(empty_bundle.first().roots.len(), 2, "a and c");
    }
}
