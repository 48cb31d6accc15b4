//! Time for plugins: the clock behind `host.now`, and `host.local-to-utc` for EDI dates that carry no offset.
//!
//! X12 writes dates and times without a zone; the partner profile names it. Converting in the host means every
//! plugin, in any language, gets the same answer from one time-zone database, and tests can pin the clock.

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{Offset, TimeZone};

use super::bindings::millwright::adapter::types::Timestamp;

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> jiff::Timestamp;
}

/// The machine's clock.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }
}

/// A clock that always says the same instant: for reproducible offline runs and tests.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub jiff::Timestamp);

impl Clock for FixedClock {
    fn now(&self) -> jiff::Timestamp {
        self.0
    }
}

/// An instant as the contract writes it: RFC 3339 in UTC, plus the original offset when there was one.
pub fn to_wit(instant: jiff::Timestamp, offset_minutes: Option<i32>) -> Timestamp {
    Timestamp {
        utc: instant.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        original_offset_minutes: offset_minutes,
    }
}

/// Converts an X12-style local date and time in `zone` to UTC. See `host.local-to-utc` in wit/host.wit.
pub fn local_to_utc(date: &str, time: &str, zone: &str) -> Result<Timestamp, String> {
    let date = parse_date(date)?;
    let time = parse_time(time)?;
    let zone = parse_zone(zone)?;
    let zoned = DateTime::from_parts(date, time)
        .to_zoned_datetime(zone)
        .map_err(|err| format!("{date} {time} does not exist in that zone: {err}"))?;
    let offset_minutes = zoned.offset().seconds() / 60;
    Ok(to_wit(zoned.timestamp(), Some(offset_minutes)))
}

fn digits(field: &str, text: &str) -> Result<(), String> {
    if text.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(format!("{field} {text:?} is not all digits"))
    }
}

fn parse_date(text: &str) -> Result<Date, String> {
    digits("date", text)?;
    let number = |range: std::ops::Range<usize>| -> i16 {
        text.get(range)
            .and_then(|s| s.parse().ok())
            .unwrap_or_default()
    };
    let (year, rest) = match text.len() {
        8 => (number(0..4), 4),
        // X12 six-digit dates: a sliding century, as most translators do it (00-69 is 20xx).
        6 => {
            let yy = number(0..2);
            (if yy < 70 { 2000 + yy } else { 1900 + yy }, 2)
        }
        _ => {
            return Err(format!(
                "date {text:?} is neither CCYYMMDD nor YYMMDD (it has {} digits)",
                text.len()
            ));
        }
    };
    let month = number(rest..rest + 2);
    let day = number(rest + 2..rest + 4);
    Date::new(
        year,
        i8::try_from(month).unwrap_or(0),
        i8::try_from(day).unwrap_or(0),
    )
    .map_err(|_| format!("date {text:?} is not a calendar date"))
}

fn parse_time(text: &str) -> Result<Time, String> {
    digits("time", text)?;
    let part = |range: std::ops::Range<usize>| -> i8 {
        text.get(range)
            .and_then(|s| s.parse().ok())
            .unwrap_or_default()
    };
    if !matches!(text.len(), 0 | 4 | 6 | 7 | 8) {
        return Err(format!(
            "time {text:?} is none of HHMM, HHMMSS, HHMMSSd, HHMMSSdd"
        ));
    }
    let (hour, minute, second) = if text.is_empty() {
        (0, 0, 0)
    } else {
        (part(0..2), part(2..4), part(4..6))
    };
    // Decimal seconds (HHMMSSd[d]) are kept to the hundredth.
    let fraction = text.get(6..).unwrap_or("");
    let nanos = match fraction.len() {
        1 => i32::from(part(6..7)) * 100_000_000,
        2 => i32::from(part(6..8)) * 10_000_000,
        _ => 0,
    };
    Time::new(hour, minute, second, nanos)
        .map_err(|_| format!("time {text:?} is not a time of day"))
}

fn parse_zone(text: &str) -> Result<TimeZone, String> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("utc") || text == "Z" {
        return Ok(TimeZone::UTC);
    }
    if let Some(sign) = text.chars().next().filter(|c| *c == '+' || *c == '-') {
        let body = &text[1..];
        let (hours, minutes) = body.split_once(':').unwrap_or((body, "0"));
        let (Ok(hours), Ok(minutes)) = (hours.parse::<i32>(), minutes.parse::<i32>()) else {
            return Err(format!("zone {text:?} is not an offset like -05:00"));
        };
        let seconds = (hours * 3600 + minutes * 60) * if sign == '-' { -1 } else { 1 };
        let offset =
            Offset::from_seconds(seconds).map_err(|_| format!("zone {text:?} is out of range"))?;
        return Ok(TimeZone::fixed(offset));
    }
    TimeZone::get(text).map_err(|_| {
        format!("zone {text:?} is not an IANA time zone (like America/Chicago) or an offset (like -05:00)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chicago_summer_date_is_five_hours_behind_utc() {
        let ts = local_to_utc("20240701", "0830", "America/Chicago").expect("converts");
        assert_eq!(ts.utc, "2024-07-01T13:30:00Z");
        assert_eq!(ts.original_offset_minutes, Some(-300));
    }

    #[test]
    fn six_digit_date_and_fixed_offset() {
        let ts = local_to_utc("990315", "231500", "+01:00").expect("converts");
        assert_eq!(ts.utc, "1999-03-15T22:15:00Z");
        assert_eq!(ts.original_offset_minutes, Some(60));
    }

    #[test]
    fn empty_time_is_midnight_in_utc_by_default() {
        let ts = local_to_utc("20240229", "", "").expect("converts");
        assert_eq!(ts.utc, "2024-02-29T00:00:00Z");
    }

    #[test]
    fn bad_parts_are_named() {
        assert!(
            local_to_utc("20240230", "", "UTC")
                .unwrap_err()
                .contains("not a calendar date")
        );
        assert!(
            local_to_utc("2024", "", "UTC")
                .unwrap_err()
                .contains("neither CCYYMMDD")
        );
        assert!(
            local_to_utc("20240101", "2575", "UTC")
                .unwrap_err()
                .contains("not a time of day")
        );
        assert!(
            local_to_utc("20240101", "12a0", "UTC")
                .unwrap_err()
                .contains("not all digits")
        );
        assert!(
            local_to_utc("20240101", "", "Mars/Olympus")
                .unwrap_err()
                .contains("not an IANA")
        );
    }
}
