//! Days and minutes on the proleptic Gregorian calendar: ISO dates to X12's `CCYYMMDD`, RFC 3339 UTC instants
//! to minutes and back, and the host's clock moved into the plant's zone with `host::local_to_utc` (the only
//! zone arithmetic a plugin has), so the envelope's dates are the plant's, as X12 dates carry no offset.

use millwright_sdk::host;

/// Minutes since 1970-01-01T00:00 (UTC, or local time where the caller says so).
pub type Minutes = i64;

/// Days since 1970-01-01 of a date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn number(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Whether `(y, m, d)` is a day of the calendar.
fn is_day(y: i64, m: i64, d: i64) -> bool {
    (1..=12).contains(&m) && d >= 1 && civil_from_days(days_from_civil(y, m, d)) == (y, m, d)
}

/// An ISO 8601 calendar date `YYYY-MM-DD` as X12's `CCYYMMDD`; `None` when it is not a day of the calendar.
pub fn ccyymmdd(iso: &str) -> Option<String> {
    let b = iso.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, m, d) = (number(&iso[..4])?, number(&iso[5..7])?, number(&iso[8..])?);
    is_day(y, m, d).then(|| format!("{y:04}{m:02}{d:02}"))
}

/// An RFC 3339 instant in UTC (`2024-06-11T21:05:00Z`, fractions of a second allowed) as minutes.
pub fn utc_minutes(utc: &str) -> Option<Minutes> {
    let b = utc.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't')
        || b[13] != b':'
        || b[16] != b':'
        || !matches!(b[b.len() - 1], b'Z' | b'z')
    {
        return None;
    }
    let (y, m, d) = (
        number(utc.get(..4)?)?,
        number(utc.get(5..7)?)?,
        number(utc.get(8..10)?)?,
    );
    let (hour, minute, second) = (
        number(utc.get(11..13)?)?,
        number(utc.get(14..16)?)?,
        number(utc.get(17..19)?)?,
    );
    let fraction = utc.get(19..utc.len() - 1)?;
    let fraction_ok = fraction.is_empty()
        || (fraction.len() > 1
            && fraction.starts_with('.')
            && fraction[1..].bytes().all(|b| b.is_ascii_digit()));
    if !is_day(y, m, d) || hour > 23 || minute > 59 || second > 60 || !fraction_ok {
        return None;
    }
    Some(days_from_civil(y, m, d) * 1440 + hour * 60 + minute)
}

/// `CCYYMMDD` of a minute.
pub fn date8(at: Minutes) -> String {
    let (y, m, d) = civil_from_days(at.div_euclid(1440));
    format!("{y:04}{m:02}{d:02}")
}

/// `HHMM` of a minute.
pub fn time4(at: Minutes) -> String {
    let minute = at.rem_euclid(1440);
    format!("{:02}{:02}", minute / 60, minute % 60)
}

/// The local time in `zone` of the UTC minute `utc`, found with the host's `local-to-utc`: guess an offset,
/// convert the local time it gives back to UTC, and take the offset the zone has there, until the round trip
/// lands on `utc` (once, twice around a daylight-saving change). An error is the host's message about the zone.
pub fn local(utc: Minutes, zone: &str) -> Result<Minutes, String> {
    let mut offset = 0;
    for _ in 0..4 {
        let guess = utc + offset;
        let back = host::local_to_utc(&date8(guess), &time4(guess), zone)?;
        let back_utc = utc_minutes(&back.utc)
            .ok_or_else(|| format!("the host's clock answered `{}`", back.utc))?;
        if back_utc == utc {
            return Ok(guess);
        }
        offset = i64::from(back.original_offset_minutes.unwrap_or(0));
    }
    // A local time the zone skips (a daylight-saving gap) never comes back exactly; the last guess is the
    // nearest wall-clock time.
    Ok(utc + offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates_become_ccyymmdd_only_when_they_are_days() {
        assert_eq!(ccyymmdd("2024-06-10").as_deref(), Some("20240610"));
        assert_eq!(ccyymmdd("2024-02-29").as_deref(), Some("20240229"));
        assert_eq!(ccyymmdd("2023-02-29"), None);
        assert_eq!(ccyymmdd("2024-13-01"), None);
        assert_eq!(ccyymmdd("2024-06-1"), None);
        assert_eq!(ccyymmdd("20240610"), None);
        assert_eq!(ccyymmdd("2024-06-10T00:00:00Z"), None);
    }

    #[test]
    fn utc_instants_read_to_the_minute() {
        let at = utc_minutes("2024-06-11T21:05:00Z").expect("valid");
        assert_eq!(
            (date8(at), time4(at)),
            ("20240611".to_owned(), "2105".to_owned())
        );
        assert_eq!(
            utc_minutes("2024-06-11T21:05:59.999Z"),
            Some(at),
            "seconds are dropped"
        );
        assert_eq!(time4(at - 21 * 60 - 6), "2359");
        for bad in [
            "2024-06-11 21:05:00Z",
            "2024-06-11T21:05:00+02:00",
            "2024-06-31T21:05:00Z",
            "2024-06-11T24:05:00Z",
            "2024-06-11T21:05:00.Z",
            "",
        ] {
            assert_eq!(utc_minutes(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_local_time_follows_the_zones_offset_on_that_day() {
        let summer = utc_minutes("2024-06-11T21:05:00Z").expect("valid");
        let chicago = local(summer, "America/Chicago").expect("a zone");
        assert_eq!(
            (date8(chicago), time4(chicago)),
            ("20240611".to_owned(), "1605".to_owned())
        );
        let winter = utc_minutes("2024-01-02T03:30:00Z").expect("valid");
        let chicago = local(winter, "America/Chicago").expect("a zone");
        assert_eq!(
            (date8(chicago), time4(chicago)),
            ("20240101".to_owned(), "2130".to_owned())
        );
        let berlin = local(summer, "Europe/Berlin").expect("a zone");
        assert_eq!(
            (date8(berlin), time4(berlin)),
            ("20240611".to_owned(), "2305".to_owned())
        );
        assert_eq!(local(summer, "UTC"), Ok(summer));
        assert!(local(summer, "Mars/Olympus").is_err());
    }
}
