//! The admin API over HTTPS: the certificate chain and private key (PEM files) read and checked when `serve`
//! binds, so a missing file, one that is not PEM, or a key that does not belong to the certificate stops the start
//! with a message naming the file, rather than failing every handshake later.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The admin API's certificate and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminTls {
    /// The certificate chain, PEM: the server's certificate first, then any intermediates.
    pub cert: PathBuf,
    /// Its private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

impl AdminTls {
    /// The server's TLS settings, from the two files.
    pub(super) fn server_config(&self) -> Result<Arc<rustls::ServerConfig>> {
        let certs = read(&self.cert, "certificate", |pem| {
            CertificateDer::pem_slice_iter(pem).collect::<Result<Vec<_>, _>>()
        })?;
        if certs.is_empty() {
            bail!(
                "the admin API's certificate {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                self.cert.display()
            );
        }
        let key = read(&self.key, "key", PrivateKeyDer::from_pem_slice).map_err(|err| {
            anyhow!(
                "{err:#} (a PEM private key, -----BEGIN PRIVATE KEY----- or RSA/EC PRIVATE KEY, is expected)"
            )
        })?;
        let mut config =
            rustls::ServerConfig::builder_with_provider(crate::http_client::crypto_provider())
                .with_safe_default_protocol_versions()
                .context("setting up TLS")?
                .with_no_client_auth()
                .with_single_cert(certs, key)
                .map_err(|err| {
                    anyhow!(
                        "the admin API's key {} cannot serve the certificate {}: {err}",
                        self.key.display(),
                        self.cert.display()
                    )
                })?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

fn read<T, E: std::fmt::Display>(
    path: &Path,
    what: &str,
    parse: impl FnOnce(&[u8]) -> Result<T, E>,
) -> Result<T> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("reading the admin API's TLS {what} {}", path.display()))?;
    parse(&bytes).map_err(|err| {
        anyhow!(
            "the admin API's TLS {what} {} is not PEM: {err}",
            path.display()
        )
    })
}
