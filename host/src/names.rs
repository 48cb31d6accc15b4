//! The names that have rules: tenants, slots, routes, sources, targets, master-data tables, and the sha256 that
//! names a plugin version. Each is a type checked once, where it enters the host — the configuration file, an
//! HTTP path or body, a CLI argument, a key read back from storage — and trusted from then on: the registry, the
//! pipeline and the service take these types and never check a name again.
//!
//! A name becomes a NATS subject token, a stream or consumer name, a KV key and a file name alike, so the rule
//! is the strictest of those: 1 to 64 ASCII letters, digits, `-` or `_`. Route names starting with `_` are the
//! host's own ([`RouteName::unrouted`]).

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A name that broke its rule; nothing was done with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {shown} is not allowed: {reason}")]
pub struct NameError {
    /// What the name was for: `tenant`, `slot`, `route`, `source`, `target`, `sha256`.
    pub what: &'static str,
    /// The name as given, quoted and shortened for messages.
    pub shown: String,
    /// The rule it broke.
    pub reason: &'static str,
}

impl NameError {
    fn new(what: &'static str, name: &str, reason: &'static str) -> Self {
        // Quoted so that control characters show, and shortened so that a megabyte of name does not become a
        // megabyte of error message.
        let mut shown: String = name.chars().take(72).collect();
        if shown.len() < name.len() {
            shown.push('…');
        }
        Self {
            what,
            shown: format!("{shown:?}"),
            reason,
        }
    }
}

/// The rule every name follows: 1 to 64 ASCII letters, digits, `-` or `_`.
fn check_token(what: &'static str, name: &str) -> Result<(), NameError> {
    let reason = if name.is_empty() {
        Some("it is empty")
    } else if name.len() > 64 {
        Some("it is longer than 64 bytes")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        Some(
            "only ASCII letters, digits, '-' and '_' are allowed (it names NATS subjects, streams and keys)",
        )
    } else {
        None
    };
    match reason {
        None => Ok(()),
        Some(reason) => Err(NameError::new(what, name, reason)),
    }
}

macro_rules! names {
    ($($(#[$doc:meta])* $ty:ident => $what:literal, $check:path;)*) => {$(
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $ty(Arc<str>);

        impl $ty {
            /// Checks `name` and makes it one.
            pub fn new(name: &str) -> Result<Self, NameError> {
                $check($what, name)?;
                Ok(Self(Arc::from(name)))
            }

            /// The name as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Deref for $ty {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $ty {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&*self.0, f)
            }
        }

        impl From<$ty> for String {
            fn from(name: $ty) -> String {
                name.0.to_string()
            }
        }

        impl From<&$ty> for String {
            fn from(name: &$ty) -> String {
                name.0.to_string()
            }
        }

        impl FromStr for $ty {
            type Err = NameError;
            fn from_str(name: &str) -> Result<Self, NameError> {
                Self::new(name)
            }
        }

        impl PartialEq<str> for $ty {
            fn eq(&self, other: &str) -> bool {
                &*self.0 == other
            }
        }

        impl PartialEq<&str> for $ty {
            fn eq(&self, other: &&str) -> bool {
                &*self.0 == *other
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                Self::new(&text).map_err(serde::de::Error::custom)
            }
        }
    )*};
}

names! {
    /// A tenant: one customer, the second token of its subjects (`mw.<tenant>.…`).
    Tenant => "tenant", check_token;
    /// A plugin slot of a tenant: the versions one mapping has had, and the active one.
    Slot => "slot", check_token;
    /// A route of a tenant: its durable consumer and its dead-letter subject (`mw.<tenant>.dlq.<route>`).
    RouteName => "route", check_route;
    /// A source of documents: the last token of `mw.<tenant>.in.<source>`.
    Source => "source", check_token;
    /// A target: the last token of `mw.<tenant>.out.<target>`, and the name an outbound plugin is given.
    TargetName => "target", check_token;
    /// The sha256 of a plugin component's bytes, 64 lowercase hex digits: a version's identity.
    Sha256 => "sha256", check_sha256;
    /// A master-data table of a tenant (`units`, `items`): a key of the tenant's lookup bucket.
    TableName => "lookup table", check_token;
}

fn check_route(what: &'static str, name: &str) -> Result<(), NameError> {
    check_token(what, name)?;
    if name.starts_with('_') {
        return Err(NameError::new(
            what,
            name,
            "names starting with '_' are the host's own (_unrouted)",
        ));
    }
    Ok(())
}

fn check_sha256(what: &'static str, sha256: &str) -> Result<(), NameError> {
    let ok = sha256.len() == 64
        && sha256
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if ok {
        Ok(())
    } else {
        Err(NameError::new(
            what,
            sha256,
            "a sha256 is 64 lowercase hex digits",
        ))
    }
}

impl RouteName {
    /// The dead-letter route of documents whose source no route takes: `_unrouted`.
    pub fn unrouted() -> Self {
        Self(Arc::from(UNROUTED))
    }

    /// A route name as a filter over dead letters: a route's name, or `_unrouted`.
    pub fn dead_letter_route(name: &str) -> Result<Self, NameError> {
        if name == UNROUTED {
            Ok(Self::unrouted())
        } else {
            Self::new(name)
        }
    }
}

/// The name of the dead-letter route for documents no route takes.
pub const UNROUTED: &str = "_unrouted";

impl Sha256 {
    /// The sha256 of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        use sha2::Digest;
        Self(Arc::from(hex::encode(sha2::Sha256::digest(bytes))))
    }

    /// The first 12 hex digits, as labels show a version.
    pub fn short(&self) -> &str {
        &self.0[..12]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_subject_token_rule() {
        for good in ["acme", "supplier-856", "a_b", "A9", &"x".repeat(64)] {
            assert!(Tenant::new(good).is_ok(), "{good}");
            assert!(Slot::new(good).is_ok(), "{good}");
        }
        for (bad, reason) in [
            ("", "empty"),
            ("a.b", "only ASCII"),
            ("in>", "only ASCII"),
            ("%2e%2e%2f", "only ASCII"),
            ("a b", "only ASCII"),
            ("naïve", "only ASCII"),
            (&"x".repeat(65), "longer than 64"),
        ] {
            let err = Source::new(bad).expect_err(bad);
            assert!(err.reason.contains(reason), "{bad:?}: {err}");
            assert_eq!(err.what, "source");
        }
    }

    #[test]
    fn an_error_shows_a_long_or_strange_name_quoted_and_short() {
        let err = Tenant::new(&format!("a\u{0}{}", "b".repeat(10_000))).expect_err("bad");
        assert!(err.shown.starts_with("\"a\\0b"), "{}", err.shown);
        assert!(err.shown.len() < 100, "{}", err.shown);
        assert_eq!(err.to_string().split(" is not allowed").count(), 2);
    }

    #[test]
    fn route_names_starting_with_an_underscore_are_the_hosts_own() {
        assert!(RouteName::new("_unrouted").is_err());
        assert_eq!(RouteName::unrouted().as_str(), "_unrouted");
        assert_eq!(
            RouteName::dead_letter_route("_unrouted").expect("host's own"),
            RouteName::unrouted()
        );
        assert!(RouteName::dead_letter_route("_other").is_err());
    }

    #[test]
    fn a_sha256_is_64_lowercase_hex_digits() {
        let sha = Sha256::of(b"plugin");
        assert_eq!(Sha256::new(sha.as_str()).expect("valid"), sha);
        assert_eq!(sha.short().len(), 12);
        assert!(Sha256::new(&sha.to_ascii_uppercase()).is_err());
        assert!(Sha256::new(&sha[..63]).is_err());
    }

    #[test]
    fn names_read_from_json_are_checked() {
        let tenant: Tenant = serde_json::from_str("\"acme\"").expect("valid");
        assert_eq!(tenant, "acme");
        let err = serde_json::from_str::<Tenant>("\"ac.me\"").expect_err("invalid");
        assert!(
            err.to_string().contains("tenant \"ac.me\" is not allowed"),
            "{err}"
        );
        assert_eq!(serde_json::to_string(&tenant).expect("writes"), "\"acme\"");
    }
}
