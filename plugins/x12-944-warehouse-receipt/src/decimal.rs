//! Exact decimals for quantities: a value as the sender wrote it (`"400.0"`, `"12.5"`, `"5000"`) read into an
//! integer and a scale, added, subtracted, compared and written back, never through a float.
//!
//! An `i128` (38 significant digits and then some) holds any quantity an X12 R element can carry (15 characters) and any sum
//! of such quantities a document can hold; an operation that would overflow reports it instead of wrapping.

use std::cmp::Ordering;

/// A decimal number: `units / 10^scale`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Decimal {
    units: i128,
    scale: u32,
}

/// The most digits after the decimal mark a value may have.
const MAX_SCALE: u32 = 18;

impl Decimal {
    /// Zero, with no digits after the decimal mark.
    pub(crate) const ZERO: Decimal = Decimal { units: 0, scale: 0 };

    /// Reads an X12 decimal (`R` type): an optional `-`, digits, at most one `.`, a digit somewhere. `None` for
    /// anything else, or for a value too long to hold.
    pub(crate) fn parse(value: &str) -> Option<Decimal> {
        let (negative, digits) = match value.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, value),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.len() + fraction.len() == 0 || !all_digits(whole) || !all_digits(fraction) {
            return None;
        }
        let scale = u32::try_from(fraction.len())
            .ok()
            .filter(|&s| s <= MAX_SCALE)?;
        let mut units: i128 = 0;
        for b in whole.bytes().chain(fraction.bytes()) {
            units = units.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
        }
        Some(Decimal {
            units: if negative { -units } else { units },
            scale,
        })
    }

    /// The number of digits after the decimal mark.
    pub(crate) fn scale(self) -> u32 {
        self.scale
    }

    /// Whether the value is below zero.
    pub(crate) fn is_negative(self) -> bool {
        self.units < 0
    }

    /// The same value with `scale` digits after the decimal mark (`scale` at least the value's own).
    fn rescaled(self, scale: u32) -> Option<Decimal> {
        let factor = 10i128.checked_pow(scale.checked_sub(self.scale)?)?;
        Some(Decimal {
            units: self.units.checked_mul(factor)?,
            scale,
        })
    }

    /// Both values at the larger of their scales.
    fn aligned(self, other: Decimal) -> Option<(i128, i128, u32)> {
        let scale = self.scale.max(other.scale);
        Some((
            self.rescaled(scale)?.units,
            other.rescaled(scale)?.units,
            scale,
        ))
    }

    /// `self + other`, at the larger scale; `None` on overflow.
    pub(crate) fn checked_add(self, other: Decimal) -> Option<Decimal> {
        let (a, b, scale) = self.aligned(other)?;
        Some(Decimal {
            units: a.checked_add(b)?,
            scale,
        })
    }

    /// `self - other`, at the larger scale; `None` on overflow.
    pub(crate) fn checked_sub(self, other: Decimal) -> Option<Decimal> {
        let (a, b, scale) = self.aligned(other)?;
        Some(Decimal {
            units: a.checked_sub(b)?,
            scale,
        })
    }

    /// Compares the values, whatever their scales (`24` equals `24.00`); `None` when aligning them would
    /// overflow.
    pub(crate) fn compare(self, other: Decimal) -> Option<Ordering> {
        let (a, b, _) = self.aligned(other)?;
        Some(a.cmp(&b))
    }

    /// The value written with exactly `scale` digits after the decimal mark (at least its own scale): a `-` when
    /// negative, the whole part without leading zeros (`0` when it is zero), then `.` and the fraction when
    /// `scale` > 0. `None` when the scale is below the value's own or rescaling overflows.
    pub(crate) fn to_string_with_scale(self, scale: u32) -> Option<String> {
        let value = self.rescaled(scale)?;
        let digits = value.units.unsigned_abs().to_string();
        let scale = scale as usize;
        let padded = if digits.len() <= scale {
            format!("{}{digits}", "0".repeat(scale + 1 - digits.len()))
        } else {
            digits
        };
        let (whole, fraction) = padded.split_at(padded.len() - scale);
        let sign = if value.units < 0 { "-" } else { "" };
        Some(if scale == 0 {
            format!("{sign}{whole}")
        } else {
            format!("{sign}{whole}.{fraction}")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(value: &str) -> Decimal {
        Decimal::parse(value).expect("a decimal")
    }

    fn show(value: Decimal, scale: u32) -> String {
        value.to_string_with_scale(scale).expect("writes")
    }

    #[test]
    fn values_are_read_as_x12_writes_them() {
        for ok in [
            "0",
            "5000",
            "400.0",
            ".5",
            "5.",
            "-3",
            "0.000",
            "121212121212.121",
        ] {
            assert!(Decimal::parse(ok).is_some(), "{ok}");
        }
        for bad in [
            "",
            "-",
            ".",
            "1,5",
            "1.2.3",
            "+1",
            "1e3",
            " 1",
            "12 EA",
            "0.1234567890123456789",
        ] {
            assert!(Decimal::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(
            (d(".5").scale(), d("400.0").scale(), d("5.").scale()),
            (1, 1, 0)
        );
    }

    #[test]
    fn arithmetic_keeps_the_larger_scale_and_writes_a_leading_zero() {
        assert_eq!(
            show(d("400.0").checked_sub(d("12.5")).expect("fits"), 1),
            "387.5"
        );
        assert_eq!(
            show(d("5000").checked_sub(d("200")).expect("fits"), 0),
            "4800"
        );
        assert_eq!(show(d(".5").checked_sub(d("0")).expect("fits"), 1), "0.5");
        assert_eq!(
            show(d("920.250").checked_sub(d("920.25")).expect("fits"), 3),
            "0.000"
        );
        assert_eq!(show(Decimal::ZERO, 3), "0.000");
        assert_eq!(
            show(d("1").checked_sub(d("1.25")).expect("fits"), 2),
            "-0.25"
        );
        assert_eq!(show(d("0.05"), 4), "0.0500");
        assert_eq!(
            d("0.05").to_string_with_scale(1),
            None,
            "a scale below the value's own"
        );
        let total = ["5000", "6000", "11500", "400.0"]
            .iter()
            .try_fold(Decimal::ZERO, |sum, v| sum.checked_add(d(v)))
            .expect("fits");
        assert_eq!(total.compare(d("22900")), Some(Ordering::Equal));
        assert_eq!(d("24").compare(d("24.001")), Some(Ordering::Less));
        assert!(d("-0.1").is_negative() && !d("0").is_negative());
    }

    #[test]
    fn overflow_is_reported_not_wrapped() {
        let big = d("170141183460469231731687303715884105727");
        assert!(big.checked_add(d("1")).is_none());
        assert!(
            big.checked_add(d("0.1")).is_none(),
            "aligning the scales overflows"
        );
        assert!(big.compare(d("0.5")).is_none());
        assert!(Decimal::parse("999999999999999999999999999999999999999").is_none());
    }
}
