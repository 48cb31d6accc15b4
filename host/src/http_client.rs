//! The one HTTP client, for the CLI's calls to the admin API and for outbound routes' deliveries: reqwest over
//! rustls (ring, as async-nats uses), trusting the system's root certificates plus, when given, a CA of one's own
//! (a plant's internal CA, a test CA) read from a PEM file or given as PEM text.
//!
//! Each caller adds what is its own to the builder this returns (timeouts, redirects, proxies); what they share is
//! whom they trust, and the words an untrusted certificate is refused with.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use anyhow::{Context, Result, anyhow, bail};
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// A CA certificate (or several) trusted besides the system's roots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ca {
    /// Where it came from, for messages: a file's path, or "PEM text".
    pub origin: String,
    /// The certificates, DER.
    pub certs: Vec<CertificateDer<'static>>,
}

impl Ca {
    /// Reads a PEM file of one or more certificates. A missing file, or one holding no PEM certificate, is an
    /// error naming the file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read(path)
            .with_context(|| format!("reading the CA certificate {}", path.display()))?;
        Self::from_pem(&text, &path.display().to_string())
    }

    /// Reads PEM text of one or more certificates, `origin` naming it in errors.
    pub fn from_pem(pem: &[u8], origin: &str) -> Result<Self> {
        let certs = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|err| anyhow!("{origin} is not a PEM certificate: {err}"))?;
        if certs.is_empty() {
            bail!("{origin} holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
        }
        // Each must be a certificate rustls can anchor trust in; found now rather than at the first request.
        let mut roots = RootCertStore::empty();
        for cert in &certs {
            roots
                .add(cert.clone())
                .map_err(|err| anyhow!("{origin}: a certificate cannot be used as a CA: {err}"))?;
        }
        Ok(Self {
            origin: origin.to_string(),
            certs,
        })
    }
}

/// The crypto the host uses for TLS, client and server.
pub fn crypto_provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The system's root certificates, read once. Those that cannot be read are skipped: a host without any still
/// reaches targets trusted through their own CA.
fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        for err in &found.errors {
            tracing::debug!("reading the system's root certificates: {err}");
        }
        found.certs
    })
}

/// The client's TLS settings: the system's roots and `ca`.
pub fn tls_config(ca: Option<&Ca>) -> Result<rustls::ClientConfig> {
    let mut roots = RootCertStore::empty();
    // Some system bundles carry certificates rustls refuses; the rest are still trusted.
    let (_added, _ignored) = roots.add_parsable_certificates(system_roots().iter().cloned());
    if let Some(ca) = ca {
        for cert in &ca.certs {
            roots
                .add(cert.clone())
                .map_err(|err| anyhow!("{}: cannot be used as a CA: {err}", ca.origin))?;
        }
    }
    Ok(
        rustls::ClientConfig::builder_with_provider(crypto_provider())
            .with_safe_default_protocol_versions()
            .context("setting up TLS")?
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// A client builder over rustls trusting the system's roots and `ca`.
pub fn builder(ca: Option<&Ca>) -> Result<reqwest::ClientBuilder> {
    Ok(reqwest::Client::builder().use_preconfigured_tls(tls_config(ca)?))
}

/// An error of the client in words: reqwest's own message and every cause under it, with a hint when the cause
/// is a server certificate nobody here trusts.
pub fn describe(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    let mut untrusted = false;
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        if let Some(rustls::Error::InvalidCertificate(reason)) =
            cause.downcast_ref::<rustls::Error>()
        {
            untrusted |= matches!(
                reason,
                rustls::CertificateError::UnknownIssuer
                    | rustls::CertificateError::BadSignature
                    | rustls::CertificateError::NotValidForName
                    | rustls::CertificateError::NotValidForNameContext { .. }
            );
        }
        untrusted |= cause_text.contains("UnknownIssuer");
        source = cause.source();
    }
    if untrusted {
        text.push_str(" (the server's certificate is not trusted: it is not signed by a CA this host trusts, or does not name the host it was reached at)");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_without_a_certificate_is_refused_naming_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("missing.pem");
        let err = format!("{:#}", Ca::from_file(&missing).expect_err("missing"));
        assert!(err.contains("missing.pem"), "{err}");
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "not a certificate").expect("write");
        let err = format!("{:#}", Ca::from_file(&garbage).expect_err("garbage"));
        assert!(
            err.contains("garbage.pem") && err.contains("no PEM certificate"),
            "{err}"
        );
    }
}
