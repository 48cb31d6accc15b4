//! Which rules a tenant runs, and how they are tuned: `[tenants.<t>.rules]` in the file, or
//! `PUT /v1/tenants/{t}/rules` through the API. Both are the same [`RuleSettings`], written the same way
//! (kebab-case names, durations as `"4h"`), so what an operator reads back from the API pastes into the file.
//!
//! Settings put through the API are kept in the tenant's rule state bucket under [`KEY`], so every host of a
//! fleet runs the same rules and a restart keeps them; they win over the file's until deleted
//! (`DELETE /v1/tenants/{t}/rules`), which brings the file's back. Each host follows the key and swaps its
//! rules between two inputs: an input is placed and settled by one set of rules.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::ToSchema;

/// The key of the API's settings in `MW_<t>_RULES`.
pub const KEY: &str = "settings";

/// Which business rules a tenant runs, and how they are tuned. Every field may be left out: a rule left out is
/// off.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct RuleSettings {
    /// Quarantine: a consumption of a lot quality holds is held back on `mw.<t>.quarantine.<type>` until the
    /// lot is released.
    pub quarantine: bool,
    /// Order change: an acknowledgment that changes, back-orders or rejects lines raises an alert.
    pub order_change: bool,
    /// Receipt discrepancy: a receipt that differs from its ship notice raises an alert.
    pub receipt_discrepancy: bool,
    /// Over-consumption: a work order consuming more of a component than the tenant's `bom` plans for it, beyond
    /// the tolerance, raises an alert.
    pub over_consumption: bool,
    /// How far beyond the plan a work order may consume before it is over: `"5%"`; 0 when left out.
    pub over_consumption_tolerance: super::consumption::Percent,
    /// Ack overdue: a purchase order not acknowledged this long after it went out raises an alert (`"4h"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ack_overdue: Option<Window>,
    /// Receipt overdue: the grace after a ship notice's expected date (or its arrival, when later) after which
    /// a notice not received raises an alert (`"1d"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt_overdue: Option<Window>,
    /// Dead letter aged: a dead letter neither replayed nor discarded this long after it was stored raises an
    /// alert (`"1d"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dead_letter_aged: Option<Window>,
}

impl RuleSettings {
    /// Reads settings sent to the API or stored by it: JSON, every error naming the field.
    pub fn from_json(bytes: &[u8]) -> Result<Self, String> {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        serde_path_to_error::deserialize(&mut de).map_err(|err| {
            let path = err.path().to_string();
            if path == "." {
                format!("rule settings: {}", err.inner())
            } else {
                format!("rule settings, at {path}: {}", err.inner())
            }
        })
    }
}

/// A length of time a rule waits (`"4h"`, `"30m"`, `"1d"`; days are 24 hours), as the file and the API write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ToSchema)]
#[schema(value_type = String, example = "4h")]
pub struct Window(pub Duration);

impl Window {
    /// Parses `"30s"`, `"500ms"`, `"2m"`, `"1h 30m"`, `"30d"`.
    pub fn parse(text: &str) -> Result<Self, String> {
        crate::config::parse_duration(text).map(Window)
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match jiff::SignedDuration::try_from(self.0) {
            Ok(duration) => write!(f, "{duration:#}"),
            Err(_) => write!(f, "{}s", self.0.as_secs()),
        }
    }
}

impl Serialize for Window {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Window {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Window::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_read_as_the_file_writes_them_and_write_back_the_same() {
        for (text, seconds) in [
            ("30s", 30),
            ("4h", 4 * 3600),
            ("1d", 86_400),
            ("1h 30m", 5400),
        ] {
            let window = Window::parse(text).expect("read");
            assert_eq!(window.0, Duration::from_secs(seconds), "{text}");
            assert_eq!(Window::parse(&window.to_string()).expect("read"), window);
        }
        assert_eq!(Window(Duration::from_secs(4 * 3600)).to_string(), "4h");
        let err = Window::parse("soon").expect_err("refused");
        assert!(err.contains("\"soon\" is not a duration"), "{err}");
        assert!(Window::parse("-5m").is_err());
    }

    #[test]
    fn settings_name_the_field_that_is_wrong() {
        let settings = RuleSettings::from_json(br#"{"quarantine": true, "order-change": true}"#)
            .expect("read");
        assert!(settings.quarantine && settings.order_change && !settings.receipt_discrepancy);
        let err = RuleSettings::from_json(br#"{"quarantine": "yes"}"#).expect_err("refused");
        assert!(
            err.contains("at quarantine") && err.contains("expected a boolean"),
            "{err}"
        );
        let err = RuleSettings::from_json(br#"{"order_change": true}"#).expect_err("refused");
        assert!(
            err.contains("unknown field `order_change`") && err.contains("order-change"),
            "{err}"
        );
    }
}
