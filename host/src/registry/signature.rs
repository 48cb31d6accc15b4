//! Plugin signatures: a partner signs the component's bytes with its ed25519 key, the tenant registers the
//! partner's public key, and an upload is checked here before [`super::Registry::add_version`] stores it.
//!
//! The signature is ed25519 over the raw bytes of the `.wasm`, and travels base64 (standard alphabet, padded)
//! beside the upload. Keys are base64 too: 32 bytes, public for verifying, secret (the seed) for signing.
//! Verification is strict ([`VerifyingKey::verify_strict`]): weak keys and malleable signatures are refused.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use thiserror::Error;

use super::SignatureStatus;

/// Why an upload's signature was refused. Each message says what to do.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SignatureError {
    /// No signature, and the tenant requires one.
    #[error(
        "this tenant requires signed plugins: sign the .wasm with your ed25519 key and upload the signature with it"
    )]
    Missing,
    /// The signature is not base64 of 64 bytes.
    #[error("the signature is not an ed25519 signature in base64 (64 bytes): {reason}")]
    Malformed {
        /// What is wrong with it.
        reason: String,
    },
    /// A signature, but the tenant has no keys to check it with.
    #[error(
        "the plugin is signed, but this tenant has no partner keys registered to check it with"
    )]
    NoKeys,
    /// No registered key verifies the signature: a different key signed it, or the bytes changed after signing.
    #[error(
        "the signature does not match the plugin with any of this tenant's keys ({}): it was made with another \
         key, or the file changed after it was signed",
        tried.join(", ")
    )]
    NoKeyVerifies {
        /// The names of the keys tried.
        tried: Vec<String>,
    },
    /// A registered public key, or a secret key given for signing, that is not an ed25519 key in base64.
    #[error("the key {name} is not an ed25519 key in base64 (32 bytes): {reason}")]
    BadKey {
        /// The key's name.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl SignatureError {
    /// The stable snake_case name of the error, for API responses.
    pub fn code(&self) -> &'static str {
        match self {
            SignatureError::Missing => "signature_required",
            SignatureError::Malformed { .. } => "signature_malformed",
            SignatureError::NoKeys => "no_signing_keys",
            SignatureError::NoKeyVerifies { .. } => "signature_invalid",
            SignatureError::BadKey { .. } => "bad_key",
        }
    }
}

/// Checks an upload's signature against the tenant's partner keys (`(name, base64 public key)`). With no
/// signature, the upload is [`SignatureStatus::Unsigned`] unless `required`; with one, some key must verify it.
pub fn verify(
    bytes: &[u8],
    signature_b64: Option<&str>,
    keys: &[(String, String)],
    required: bool,
) -> Result<SignatureStatus, SignatureError> {
    let Some(signature_b64) = signature_b64 else {
        return if required {
            Err(SignatureError::Missing)
        } else {
            Ok(SignatureStatus::Unsigned)
        };
    };
    let raw = STANDARD
        .decode(signature_b64.trim())
        .map_err(|err| SignatureError::Malformed {
            reason: err.to_string(),
        })?;
    let raw: [u8; 64] = raw
        .as_slice()
        .try_into()
        .map_err(|_| SignatureError::Malformed {
            reason: format!("it decodes to {} bytes", raw.len()),
        })?;
    let signature = Signature::from_bytes(&raw);
    if keys.is_empty() {
        return Err(SignatureError::NoKeys);
    }
    for (name, key) in keys {
        if public_key(name, key)?
            .verify_strict(bytes, &signature)
            .is_ok()
        {
            return Ok(SignatureStatus::Verified { key: name.clone() });
        }
    }
    Err(SignatureError::NoKeyVerifies {
        tried: keys.iter().map(|(name, _)| name.clone()).collect(),
    })
}

/// Checks a public key before a tenant registers it, so a typo is caught then and not at the next upload.
pub fn check_public_key(name: &str, key_b64: &str) -> Result<(), SignatureError> {
    public_key(name, key_b64).map(|_| ())
}

/// Signs `bytes` with a secret key (the 32-byte seed, base64) and returns the signature, base64.
pub fn sign(bytes: &[u8], secret_key_b64: &str) -> Result<String, SignatureError> {
    let seed = key_bytes("secret key", secret_key_b64)?;
    Ok(STANDARD.encode(SigningKey::from_bytes(&seed).sign(bytes).to_bytes()))
}

/// The public key (base64) that goes with a secret key (base64), to register with the tenant.
pub fn public_key_of(secret_key_b64: &str) -> Result<String, SignatureError> {
    let seed = key_bytes("secret key", secret_key_b64)?;
    Ok(STANDARD.encode(SigningKey::from_bytes(&seed).verifying_key().to_bytes()))
}

fn public_key(name: &str, key_b64: &str) -> Result<VerifyingKey, SignatureError> {
    let bytes = key_bytes(name, key_b64)?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| SignatureError::BadKey {
        name: name.to_string(),
        reason: "the bytes are not a point on the curve".to_string(),
    })
}

fn key_bytes(name: &str, key_b64: &str) -> Result<[u8; 32], SignatureError> {
    let bad = |reason: String| SignatureError::BadKey {
        name: name.to_string(),
        reason,
    };
    let raw = STANDARD
        .decode(key_b64.trim())
        .map_err(|err| bad(err.to_string()))?;
    raw.as_slice()
        .try_into()
        .map_err(|_| bad(format!("it decodes to {} bytes", raw.len())))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLUGIN: &[u8] = b"\0asm\x0d\0\x01\0 a ship-notice mapper";

    fn secret(seed: u8) -> String {
        STANDARD.encode([seed; 32])
    }

    fn keys(seeds: &[(&str, u8)]) -> Vec<(String, String)> {
        seeds
            .iter()
            .map(|(name, seed)| {
                (
                    name.to_string(),
                    public_key_of(&secret(*seed)).expect("a 32-byte seed is a secret key"),
                )
            })
            .collect()
    }

    #[test]
    fn a_signed_plugin_verifies_with_the_partners_key_and_names_it() {
        let signature = sign(PLUGIN, &secret(7)).expect("signing");
        let status = verify(
            PLUGIN,
            Some(&signature),
            &keys(&[("other-partner", 9), ("steel-supplier", 7)]),
            true,
        );
        assert_eq!(
            status,
            Ok(SignatureStatus::Verified {
                key: "steel-supplier".to_string()
            })
        );
    }

    #[test]
    fn a_signature_made_with_another_key_is_refused() {
        let signature = sign(PLUGIN, &secret(8)).expect("signing");
        let err = verify(
            PLUGIN,
            Some(&signature),
            &keys(&[("steel-supplier", 7)]),
            false,
        )
        .expect_err("wrong key");
        assert_eq!(
            err,
            SignatureError::NoKeyVerifies {
                tried: vec!["steel-supplier".to_string()]
            }
        );
        assert!(err.to_string().contains("steel-supplier"), "{err}");
    }

    #[test]
    fn a_plugin_changed_after_signing_is_refused() {
        let signature = sign(PLUGIN, &secret(7)).expect("signing");
        let mut tampered = PLUGIN.to_vec();
        tampered[10] ^= 1;
        let err = verify(
            &tampered,
            Some(&signature),
            &keys(&[("steel-supplier", 7)]),
            true,
        )
        .expect_err("tampered bytes");
        assert_eq!(err.code(), "signature_invalid");
    }

    #[test]
    fn a_signature_that_is_not_base64_of_64_bytes_is_malformed() {
        let keys = keys(&[("steel-supplier", 7)]);
        for bad in ["not base64 at all!", "c2hvcnQ=", ""] {
            let err = verify(PLUGIN, Some(bad), &keys, false).expect_err(bad);
            assert!(
                matches!(err, SignatureError::Malformed { .. }),
                "{bad:?}: {err:?}"
            );
        }
    }

    #[test]
    fn a_missing_signature_is_refused_only_when_required() {
        let keys = keys(&[("steel-supplier", 7)]);
        assert_eq!(
            verify(PLUGIN, None, &keys, true),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(PLUGIN, None, &keys, false),
            Ok(SignatureStatus::Unsigned)
        );
    }

    #[test]
    fn a_signature_with_no_registered_keys_is_refused() {
        let signature = sign(PLUGIN, &secret(7)).expect("signing");
        assert_eq!(
            verify(PLUGIN, Some(&signature), &[], false),
            Err(SignatureError::NoKeys)
        );
    }

    #[test]
    fn bad_keys_are_named_in_the_error() {
        assert!(matches!(
            check_public_key("typo", "AAAA"),
            Err(SignatureError::BadKey { name, .. }) if name == "typo"
        ));
        assert!(check_public_key("ok", &public_key_of(&secret(7)).expect("key")).is_ok());
        assert!(matches!(
            sign(PLUGIN, "not a key"),
            Err(SignatureError::BadKey { .. })
        ));
    }
}
