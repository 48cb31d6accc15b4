//! Dates and times as X12 writes them (no zone), placed in the partner's zone and turned into UTC.
//!
//! It lives with the parser because it is EDI knowledge (six-digit years, decimal seconds), and because the host
//! and the SDK's native harness must give plugins the very same answer.

use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};

/// An instant in UTC with the offset of the zone it was written in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UtcInstant {
    /// RFC 3339 in UTC with a `Z`, whole seconds: `2024-07-01T13:30:00Z`.
    pub utc: String,
    /// The zone's offset from UTC at that instant, in minutes (`-300` for US Central daylight time).
    pub offset_minutes: i32,
}

/// An instant as the contract writes it: RFC 3339 in UTC with a `Z`, whole seconds.
pub fn format_utc(ts: jiff::Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

fn number(s: &str) -> i32 {
    // Callers pass ASCII digits only, at most four of them.
    s.bytes().fold(0, |n, b| n * 10 + i32::from(b - b'0'))
}

fn parse_date(date: &str) -> Option<(i16, i8, i8)> {
    if !digits(date) {
        return None;
    }
    let (year, rest) = match date.len() {
        8 => (number(&date[..4]), &date[4..]),
        6 => {
            let yy = number(&date[..2]);
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, &date[2..])
        }
        _ => return None,
    };
    Some((
        i16::try_from(year).ok()?,
        i8::try_from(number(&rest[..2])).ok()?,
        i8::try_from(number(&rest[2..])).ok()?,
    ))
}

fn parse_time(time: &str) -> Option<(i8, i8, i8)> {
    if !digits(time) {
        return None;
    }
    let (h, m, s) = match time.len() {
        0 => (0, 0, 0),
        4 => (number(&time[..2]), number(&time[2..4]), 0),
        6..=8 => (number(&time[..2]), number(&time[2..4]), number(&time[4..6])),
        _ => return None,
    };
    Some((
        i8::try_from(h).ok()?,
        i8::try_from(m).ok()?,
        i8::try_from(s).ok()?,
    ))
}

fn parse_zone(zone: &str) -> Result<TimeZone, String> {
    match zone {
        "" => return Err("zone is empty; give an IANA name such as `America/Chicago` or an offset such as `-05:00`".into()),
        "UTC" | "Z" => return Ok(TimeZone::UTC),
        _ => {}
    }
    if let Some(sign) = zone
        .strip_prefix(['+', '-'])
        .map(|_| if zone.starts_with('-') { -1 } else { 1 })
    {
        let body = zone[1..].replace(':', "");
        let fixed = (body.len() == 4 && digits(&body))
            .then(|| sign * (number(&body[..2]) * 3600 + number(&body[2..]) * 60))
            .filter(|_| number(&body[2..]) < 60)
            .and_then(|seconds| Offset::from_seconds(seconds).ok());
        return fixed
            .map(TimeZone::fixed)
            .ok_or_else(|| format!("zone `{zone}` is not an offset of the form ±HH:MM"));
    }
    TimeZone::get(zone).map_err(|_| format!("zone `{zone}` is not a known IANA time zone"))
}

/// Converts an X12-style local date and time in `zone` to UTC.
///
/// - `date` is `CCYYMMDD`, or `YYMMDD` with years 00–49 read as 20YY and 50–99 as 19YY;
/// - `time` is empty (midnight), `HHMM`, `HHMMSS` or `HHMMSSd[d]` (decimal seconds are dropped);
/// - `zone` is an IANA name (`America/Chicago`), `UTC`/`Z`, or a fixed offset `±HH:MM` / `±HHMM`;
/// - a local time skipped by a daylight-saving change moves forward; a repeated one takes its first occurrence.
///
/// Errors name the part that could not be read. This is `host.local-to-utc` in the contract: the host answers
/// plugins with it and the SDK's native harness calls it directly, so both give the same answer.
pub fn local_to_utc(date: &str, time: &str, zone: &str) -> Result<UtcInstant, String> {
    let bad_date = || format!("date `{date}` is not a valid CCYYMMDD or YYMMDD date");
    let bad_time = || format!("time `{time}` is not a valid HHMM, HHMMSS or HHMMSSd[d] time");
    let (year, month, day) = parse_date(date).ok_or_else(bad_date)?;
    let (hour, minute, second) = parse_time(time).ok_or_else(bad_time)?;
    let tz = parse_zone(zone)?;
    jiff::civil::Date::new(year, month, day).map_err(|_| bad_date())?;
    let local = DateTime::new(year, month, day, hour, minute, second, 0).map_err(|_| bad_time())?;
    let zoned = local
        .to_zoned_datetime(tz)
        .map_err(|e| format!("{date} {time} cannot be placed in zone `{zone}`: {e}"))?;
    Ok(UtcInstant {
        utc: format_utc(zoned.timestamp()),
        offset_minutes: zoned.offset().seconds() / 60,
    })
}

#[cfg(test)]
mod tests {
    use super::local_to_utc;

    #[test]
    fn chicago_summer_time_is_five_hours_behind() {
        let t = local_to_utc("20240701", "0830", "America/Chicago").expect("valid");
        assert_eq!(t.utc, "2024-07-01T13:30:00Z");
        assert_eq!(t.offset_minutes, -300);
    }

    #[test]
    fn two_digit_years_pivot_at_fifty() {
        assert_eq!(
            local_to_utc("030619", "1445", "UTC").expect("valid").utc,
            "2003-06-19T14:45:00Z"
        );
        assert_eq!(
            local_to_utc("990101", "", "UTC").expect("valid").utc,
            "1999-01-01T00:00:00Z"
        );
    }

    #[test]
    fn decimal_seconds_are_dropped_and_fixed_offsets_apply() {
        let t = local_to_utc("20111206", "14242899", "-05:00").expect("valid");
        assert_eq!(t.utc, "2011-12-06T19:24:28Z");
        assert_eq!(t.offset_minutes, -300);
        assert_eq!(
            local_to_utc("20111206", "1424", "+0130")
                .expect("valid")
                .utc,
            "2011-12-06T12:54:00Z"
        );
    }

    #[test]
    fn a_skipped_local_time_moves_forward_and_a_repeated_one_takes_the_first() {
        // 2024-03-10 02:30 does not exist in Chicago; 2024-11-03 01:30 exists twice.
        assert_eq!(
            local_to_utc("20240310", "0230", "America/Chicago")
                .expect("gap")
                .utc,
            "2024-03-10T08:30:00Z"
        );
        assert_eq!(
            local_to_utc("20241103", "0130", "America/Chicago")
                .expect("fold")
                .utc,
            "2024-11-03T06:30:00Z"
        );
    }

    #[test]
    fn errors_name_the_part_that_is_wrong() {
        assert!(
            local_to_utc("20240230", "", "UTC")
                .expect_err("must be rejected")
                .contains("date `20240230`")
        );
        assert!(
            local_to_utc("2024", "", "UTC")
                .expect_err("must be rejected")
                .contains("date")
        );
        assert!(
            local_to_utc("20240201", "2500", "UTC")
                .expect_err("must be rejected")
                .contains("time `2500`")
        );
        assert!(
            local_to_utc("20240201", "12", "UTC")
                .expect_err("must be rejected")
                .contains("time")
        );
        assert!(
            local_to_utc("20240201", "1200", "Mars/Olympus")
                .expect_err("must be rejected")
                .contains("zone `Mars/Olympus`")
        );
        assert!(
            local_to_utc("20240201", "1200", "+5")
                .expect_err("must be rejected")
                .contains("zone")
        );
        assert!(
            local_to_utc("20240201", "1200", "")
                .expect_err("must be rejected")
                .contains("zone")
        );
    }
}
