//! Quantities as exact decimals: an integer count of `10^-scale` steps, never a binary float, so `412.500` kg
//! taken from `12150` kg leaves exactly `11737.500` kg.

use std::cmp::Ordering;
use std::fmt;

/// The most decimal places a quantity may have.
pub const MAX_SCALE: u32 = 6;
/// The most digits a quantity may have before its decimal point.
pub const MAX_INTEGER_DIGITS: usize = 15;

/// An exact decimal: `units / 10^scale`. Sums keep the larger scale of their terms, so a balance is written
/// with as many decimal places as the quantities posted to it (`12150` − `412.500` = `11737.500`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Decimal {
    units: i128,
    scale: u32,
}

impl Decimal {
    /// Reads an unsigned decimal as the material document carries it: digits with at most one `.` (`2950`,
    /// `412.500`, `.5`), at most [`MAX_INTEGER_DIGITS`] digits before the point and [`MAX_SCALE`] after it.
    /// The error says what is wrong, for the refusal.
    pub fn parse_unsigned(text: &str) -> Result<Self, String> {
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() && fraction.is_empty() || !digits(whole) || !digits(fraction) {
            return Err(format!(
                "`{text}` is not a decimal quantity: digits with at most one `.`, without a sign or exponent \
                 (`2950`, `412.500`)"
            ));
        }
        if whole.trim_start_matches('0').len() > MAX_INTEGER_DIGITS {
            return Err(format!(
                "`{text}` has more than {MAX_INTEGER_DIGITS} digits before the decimal point"
            ));
        }
        let scale = fraction.len();
        if scale > MAX_SCALE as usize {
            return Err(format!(
                "`{text}` has {scale} decimal places; at most {MAX_SCALE} are kept"
            ));
        }
        let mut units: i128 = 0;
        for b in whole.bytes().chain(fraction.bytes()) {
            units = units * 10 + i128::from(b - b'0');
        }
        Ok(Self {
            units,
            scale: scale as u32,
        })
    }

    /// Zero, written `0`.
    pub const ZERO: Self = Self { units: 0, scale: 0 };

    pub fn is_zero(self) -> bool {
        self.units == 0
    }

    pub fn is_negative(self) -> bool {
        self.units < 0
    }

    /// This quantity with the opposite sign.
    #[must_use]
    pub fn negated(self) -> Self {
        Self {
            units: -self.units,
            scale: self.scale,
        }
    }

    /// The sum, at the larger scale of the two. Quantities are at most 21 digits, so no sum of them that a
    /// plant could post overflows the 38 digits of an `i128`.
    #[must_use]
    pub fn plus(self, other: Self) -> Self {
        let scale = self.scale.max(other.scale);
        Self {
            units: self.at_scale(scale) + other.at_scale(scale),
            scale,
        }
    }

    fn at_scale(self, scale: u32) -> i128 {
        self.units * 10_i128.pow(scale - self.scale)
    }
}

impl PartialEq for Decimal {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Decimal {}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        let scale = self.scale.max(other.scale);
        self.at_scale(scale).cmp(&other.at_scale(scale))
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.units < 0 { "-" } else { "" };
        let digits = self.units.unsigned_abs().to_string();
        let scale = self.scale as usize;
        if scale == 0 {
            return write!(f, "{sign}{digits}");
        }
        let digits = format!("{digits:0>width$}", width = scale + 1);
        let (whole, fraction) = digits.split_at(digits.len() - scale);
        write!(f, "{sign}{whole}.{fraction}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        Decimal::parse_unsigned(text).expect("a decimal")
    }

    #[test]
    fn quantities_are_read_and_written_exactly() {
        for (text, written) in [
            ("2950", "2950"),
            ("412.500", "412.500"),
            ("0.850", "0.850"),
            (".5", "0.5"),
            ("5.", "5"),
            ("007", "7"),
            ("0.000001", "0.000001"),
            ("999999999999999.999999", "999999999999999.999999"),
        ] {
            assert_eq!(d(text).to_string(), written, "{text}");
        }
        for bad in [
            "",
            ".",
            "-5",
            "+5",
            "1e3",
            "2,950",
            "1.2.3",
            " 5",
            "5 ",
            "0x10",
            "1.0000001",
            "1234567890123456",
        ] {
            assert!(Decimal::parse_unsigned(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sums_keep_every_decimal_place() {
        let coil = d("12150").plus(d("412.500").negated());
        assert_eq!(coil.to_string(), "11737.500");
        assert_eq!(coil, d("11737.5"));
        let line = Decimal::ZERO.plus(d("0.850").negated());
        assert_eq!(line.to_string(), "-0.850");
        assert!(line.is_negative());
        assert!(line.plus(d("0.85")).is_zero());
        // 0.1 + 0.2 is 0.3, not 0.30000000000000004.
        assert_eq!(d("0.1").plus(d("0.2")), d("0.3"));
        assert!(d("2") > d("1.999"));
    }
}
