//! TLS of the clients this crate builds: the backend of the enabled feature, the roots they
//! trust (the system's, read once per process; a client's own `ca_file`), why a certificate was
//! refused, and the refusal of `https://` by a build without TLS.
//!
//! With `rustls` on Linux and the other Unix systems whose platform verifier is webpki over the
//! system's root files (all but macOS, iOS and Android), every client shares one rustls
//! configuration ([`shared`]) whose verifier reads the system's roots ([`system_roots`]) at the
//! first certificate it checks: a client that never speaks TLS (an `http://` loopback sandbox)
//! reads none, and every later client, of any provider, reuses them. Reading them for each
//! client built, as reqwest does, cost 93 % of a `helpdesk update`. Elsewhere reqwest's platform
//! verifier (the operating system's trust store and its revocation checks) is used, one per
//! client, as before.

use reqwest::ClientBuilder;
use ticket_core::TicketError;

// Where the platform verifier is webpki over the system's root files (rustls-platform-verifier's
// `others` verifier): there the roots are read here, once, and shared.
#[cfg(all(
    feature = "rustls",
    unix,
    not(target_os = "android"),
    not(target_vendor = "apple")
))]
mod shared;
#[cfg(all(
    feature = "rustls",
    unix,
    not(target_os = "android"),
    not(target_vendor = "apple")
))]
mod system_roots;

/// Whether this build has a TLS backend (`rustls` or `native-tls`).
pub(crate) const COMPILED: bool = cfg!(any(feature = "rustls", feature = "native-tls"));

/// The error for an `https://` URL in a build without TLS: permanent, and naming the fix.
pub(crate) fn no_backend(url: &str) -> TicketError {
    TicketError::config(format!(
        "{url:?} needs TLS, and this build has no TLS backend: enable the `rustls` feature (or `native-tls`) of the helpdesk crate you depend on (helpdesk, a provider crate, or helpdesk-ticket-http)"
    ))
}

/// The TLS of a client this crate builds, trusting the DER certificates of `ca_file` (`extra`)
/// beside the system's: the shared configuration where there is one, else [`backend`].
pub(crate) fn configure(
    builder: ClientBuilder,
    extra: Vec<Vec<u8>>,
) -> Result<ClientBuilder, TicketError> {
    #[cfg(all(
        feature = "rustls",
        unix,
        not(target_os = "android"),
        not(target_vendor = "apple")
    ))]
    return shared::configure(builder, extra);
    #[allow(unreachable_code)]
    backend(builder, extra)
}

/// Chooses reqwest's TLS backend of the enabled feature (`rustls` wins when both are on), with
/// reqwest's own verifier, and adds the `extra` roots to the platform's: a start for a caller's
/// own client, and the TLS of this crate's clients where the roots are not shared.
pub(crate) fn backend(
    builder: ClientBuilder,
    extra: Vec<Vec<u8>>,
) -> Result<ClientBuilder, TicketError> {
    #[cfg(feature = "rustls")]
    let mut builder = builder.tls_backend_rustls();
    #[cfg(all(feature = "native-tls", not(feature = "rustls")))]
    let mut builder = builder.tls_backend_native();
    #[cfg(not(any(feature = "rustls", feature = "native-tls")))]
    if !extra.is_empty() {
        return Err(TicketError::config(
            "`ca_file` needs a TLS feature of ticket-http (`rustls` or `native-tls`)",
        ));
    }
    #[cfg(any(feature = "rustls", feature = "native-tls"))]
    for der in extra {
        let cert = reqwest::Certificate::from_der(&der)
            .map_err(|e| TicketError::config(format!("`ca_file` holds a bad certificate: {e}")))?;
        builder = builder.add_root_certificate(cert);
    }
    Ok(builder)
}

/// The DER certificates of a PEM file; none, or a file that cannot be read, is a
/// configuration error naming `ca_file`.
pub(crate) fn read_pem(path: &std::path::Path) -> Result<Vec<Vec<u8>>, TicketError> {
    let bad = |why: String| TicketError::config(format!("`ca_file` {}: {why}", path.display()));
    let text = std::fs::read(path).map_err(|e| bad(format!("cannot be read ({e})")))?;
    let mut certs = Vec::new();
    for item in pem_blocks(&text) {
        certs.push(item.map_err(bad)?);
    }
    if certs.is_empty() {
        return Err(bad("holds no PEM certificate".to_owned()));
    }
    Ok(certs)
}

/// The `CERTIFICATE` blocks of a PEM text, decoded. Bytes, not characters, and a line at a
/// time: the system's bundle (220 KB, 144 roots) is read with it at the first TLS handshake,
/// where decoding it a character at a time cost more than all the rest of reading the roots.
pub(crate) fn pem_blocks(text: &[u8]) -> Vec<Result<Vec<u8>, String>> {
    use base64::Engine as _;
    const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
    const END: &[u8] = b"-----END CERTIFICATE-----";
    let mut out = Vec::new();
    let mut rest = text;
    let mut b64 = Vec::with_capacity(4096);
    while let Some(start) = find_marker(rest, BEGIN) {
        let body = &rest[start + BEGIN.len()..];
        let Some(end) = find_marker(body, END) else {
            out.push(Err("a certificate block is not closed".to_owned()));
            break;
        };
        b64.clear();
        for line in body[..end].split(u8::is_ascii_whitespace) {
            b64.extend_from_slice(line);
        }
        out.push(
            base64::engine::general_purpose::STANDARD
                .decode(&b64)
                .map_err(|e| format!("a certificate is not valid base64 ({e})")),
        );
        rest = &body[end + END.len()..];
    }
    out
}

/// Where `marker` (which starts with `-`, a byte base64 never holds) first starts in `text`.
fn find_marker(text: &[u8], marker: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(dash) = text[from..].iter().position(|&b| b == b'-') {
        let at = from + dash;
        if text[at..].starts_with(marker) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Why the server's certificate was refused, if that is what `err` is.
pub(crate) fn certificate_failure(err: &reqwest::Error) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(current) = source {
        #[cfg(feature = "rustls")]
        if let Some(tls) = current.downcast_ref::<rustls::Error>() {
            return match tls {
                rustls::Error::InvalidCertificate(_)
                | rustls::Error::NoCertificatesPresented
                | rustls::Error::InvalidCertRevocationList(_) => Some(tls.to_string()),
                _ => None,
            };
        }
        let text = current.to_string();
        if text.contains("certificate verify failed") || text.contains("invalid peer certificate") {
            return Some(text);
        }
        source = current.source();
    }
    None
}

/// How many times this process has read a set of the system's root certificates: 0 until a
/// client this crate built first checks a server's certificate, then 1 however many clients
/// it builds; 2 at most, when a certificate the bundle's roots do not vouch for sent it to the
/// certificate directories too. A test hook (feature `test-util`); always 0 where the roots are
/// not shared (feature `rustls` off, macOS, iOS, Android, Windows).
#[cfg(feature = "test-util")]
pub fn system_root_reads() -> usize {
    #[cfg(all(
        feature = "rustls",
        unix,
        not(target_os = "android"),
        not(target_vendor = "apple")
    ))]
    return system_roots::READS.load(std::sync::atomic::Ordering::SeqCst);
    #[allow(unreachable_code)]
    0
}
