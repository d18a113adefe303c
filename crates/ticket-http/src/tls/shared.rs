//! The one rustls configuration of the clients this crate builds, and its verifier: webpki over
//! the system's roots ([`super::system_roots`]), made at the first certificate it checks.

use std::sync::{Arc, OnceLock};

use reqwest::ClientBuilder;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, OtherError};
use rustls::{RootCertStore, SignatureScheme};
use ticket_core::TicketError;

use super::system_roots::{self, SystemRoots};

/// Gives the client the shared configuration, or, with `ca_file` roots (`extra`), its own: the
/// shared roots plus its own, under the same provider and protocol versions.
pub(super) fn configure(
    builder: ClientBuilder,
    extra: Vec<Vec<u8>>,
) -> Result<ClientBuilder, TicketError> {
    static SHARED: OnceLock<Result<ClientConfig, TicketError>> = OnceLock::new();
    let config = if extra.is_empty() {
        SHARED
            .get_or_init(|| client_config(Verifier::new(RootCertStore::empty())))
            .clone()?
    } else {
        let mut own = RootCertStore::empty();
        for der in extra {
            own.add(CertificateDer::from(der)).map_err(|e| {
                TicketError::config(format!("`ca_file` holds a bad certificate: {e}"))
            })?;
        }
        client_config(Verifier::new(own))?
    };
    // reqwest takes the configuration by value: a clone shares the verifier (and so the roots
    // it read), the provider and the session cache, which are behind `Arc`s.
    Ok(builder.tls_backend_preconfigured(config))
}

/// A configuration as reqwest's own `rustls` backend makes one (TLS 1.2 and 1.3, SNI, no client
/// certificate), with `verifier`; ALPN offers HTTP/1.1, the only version this workspace's
/// reqwest speaks (its `http2` feature is off).
fn client_config(verifier: Verifier) -> Result<ClientConfig, TicketError> {
    let provider = Arc::clone(&verifier.provider);
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TicketError::config(format!("cannot configure TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// No root certificate could be read from the system, and the client has no `ca_file`.
#[derive(Debug)]
struct NoSystemRoots(String);

impl std::fmt::Display for NoSystemRoots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "no root certificate was found on this system ({}); set SSL_CERT_FILE to a PEM bundle",
            self.0
        )
    }
}

impl std::error::Error for NoSystemRoots {}

/// A webpki verifier made at its first use.
type Lazy = OnceLock<Result<Arc<WebPkiServerVerifier>, rustls::Error>>;

/// What rustls-platform-verifier does on these systems (webpki over the system's roots plus
/// the client's own, no revocation lists), with the system's roots read once per process, at
/// the first certificate check, and shared by every client.
#[derive(Debug)]
struct Verifier {
    provider: Arc<CryptoProvider>,
    /// The client's own `ca_file` roots, parsed when it was built.
    own: RootCertStore,
    /// Over the bundle's roots (see [`SystemRoots`]) and `own`.
    first: Lazy,
    /// Over the bundle's and the directories' roots and `own`, for a certificate `first`
    /// finds no issuer of.
    all: Lazy,
}

impl Verifier {
    fn new(own: RootCertStore) -> Self {
        // As reqwest does: the process's default provider when one was installed.
        let provider = CryptoProvider::get_default()
            .cloned()
            .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
        Self {
            provider,
            own,
            first: OnceLock::new(),
            all: OnceLock::new(),
        }
    }

    /// The verifier of `lazy`, made over `roots` and `own` at the first call.
    fn webpki<'a>(
        &self,
        lazy: &'a Lazy,
        roots: impl FnOnce() -> &'static Arc<RootCertStore>,
    ) -> Result<&'a Arc<WebPkiServerVerifier>, rustls::Error> {
        lazy.get_or_init(|| {
            let system = roots();
            if system.is_empty() && self.own.is_empty() {
                let places = system_roots::get().places();
                return Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                    OtherError(Arc::new(NoSystemRoots(places))),
                )));
            }
            // The shared roots as they are, or a copy with this client's own added.
            let roots = if self.own.is_empty() {
                Arc::clone(system)
            } else {
                let mut roots = RootCertStore::clone(system);
                roots.roots.extend(self.own.roots.iter().cloned());
                Arc::new(roots)
            };
            WebPkiServerVerifier::builder_with_provider(roots, Arc::clone(&self.provider))
                .build()
                .map_err(|e| rustls::Error::General(e.to_string()))
        })
        .as_ref()
        .map_err(Clone::clone)
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let system: &'static SystemRoots = system_roots::get();
        let verify = |webpki: &WebPkiServerVerifier| {
            webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        };
        match verify(self.webpki(&self.first, || system.first())?) {
            // The certificate directories may hold the issuer the bundle lacks.
            Err(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer))
                if system.has_more() =>
            {
                verify(self.webpki(&self.all, || system.all())?)
            }
            verdict => verdict,
        }
    }

    // Signatures and schemes need the provider's algorithms only, not the roots: they are
    // answered without reading them (as webpki answers them).
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
