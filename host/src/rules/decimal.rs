//! Canonical decimals (`"4850"`, `"-0.850"`), read exactly for comparing, adding and multiplying quantities.
//! Nothing here is a float: a product is exact, and a quotient is only ever taken to show a figure to a person.

/// A decimal: `mantissa × 10^-scale`.
#[derive(Debug, Clone, Copy)]
pub struct Decimal {
    mantissa: i128,
    scale: u32,
}

impl Decimal {
    /// Reads a canonical decimal: an optional sign, digits, an optional fraction. None for anything else, or one
    /// too long to hold.
    pub fn parse(text: &str) -> Option<Decimal> {
        let text = text.trim();
        let (negative, digits) = match text.as_bytes().first()? {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        if whole.is_empty() && fraction.is_empty()
            || !whole
                .bytes()
                .chain(fraction.bytes())
                .all(|b| b.is_ascii_digit())
            || whole.len() + fraction.len() > 30
        {
            return None;
        }
        let mantissa: i128 = format!("{whole}{fraction}").parse().ok()?;
        Some(Decimal {
            mantissa: if negative { -mantissa } else { mantissa },
            scale: u32::try_from(fraction.len()).ok()?,
        })
    }

    /// Zero.
    pub const ZERO: Decimal = Decimal {
        mantissa: 0,
        scale: 0,
    };

    /// One.
    pub const ONE: Decimal = Decimal {
        mantissa: 1,
        scale: 0,
    };

    /// `mantissa × 10^-scale`.
    pub fn new(mantissa: i128, scale: u32) -> Decimal {
        Decimal { mantissa, scale }
    }

    /// Whether it is below zero.
    pub fn is_negative(self) -> bool {
        self.mantissa < 0
    }

    /// Whether it is zero.
    pub fn is_zero(self) -> bool {
        self.mantissa == 0
    }

    /// The same value without trailing zeros in its fraction (`1.500` → `1.5`), so products stay small.
    pub fn normalized(self) -> Decimal {
        let mut out = self;
        while out.scale > 0 && out.mantissa % 10 == 0 {
            out.mantissa /= 10;
            out.scale -= 1;
        }
        out
    }

    fn at_scale(self, scale: u32) -> Option<i128> {
        self.mantissa
            .checked_mul(10i128.checked_pow(scale - self.scale)?)
    }

    /// The sum; None on overflow.
    pub fn plus(self, other: Decimal) -> Option<Decimal> {
        let scale = self.scale.max(other.scale);
        Some(Decimal {
            mantissa: self.at_scale(scale)?.checked_add(other.at_scale(scale)?)?,
            scale,
        })
    }

    /// The product, exact; None on overflow.
    pub fn times(self, other: Decimal) -> Option<Decimal> {
        Some(
            Decimal {
                mantissa: self.mantissa.checked_mul(other.mantissa)?,
                scale: self.scale.checked_add(other.scale)?,
            }
            .normalized(),
        )
    }

    /// The quotient rounded half away from zero to at most `places` decimals, trailing zeros dropped: for showing
    /// a converted figure, never for comparing. None when `other` is zero or on overflow.
    pub fn divided(self, other: Decimal, places: u32) -> Option<Decimal> {
        if other.mantissa == 0 {
            return None;
        }
        // self/other = (m1 × 10^-s1) / (m2 × 10^-s2); scaled to `places` decimals:
        // m1 × 10^(places + s2 - s1) / m2, with the power moved to whichever side keeps it whole.
        let shift = i64::from(places) + i64::from(other.scale) - i64::from(self.scale);
        let (mut numerator, mut denominator) = (self.mantissa, other.mantissa);
        let power = 10i128.checked_pow(u32::try_from(shift.unsigned_abs()).ok()?)?;
        if shift >= 0 {
            numerator = numerator.checked_mul(power)?;
        } else {
            denominator = denominator.checked_mul(power)?;
        }
        let (quotient, remainder) = (numerator / denominator, numerator % denominator);
        let rounded = if remainder.checked_mul(2)?.unsigned_abs() >= denominator.unsigned_abs() {
            quotient
                + if (numerator < 0) == (denominator < 0) {
                    1
                } else {
                    -1
                }
        } else {
            quotient
        };
        Some(
            Decimal {
                mantissa: rounded,
                scale: places,
            }
            .normalized(),
        )
    }
}

impl PartialOrd for Decimal {
    /// None only when the two cannot be brought to one scale without overflow.
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        let scale = self.scale.max(other.scale);
        Some(self.at_scale(scale)?.cmp(&other.at_scale(scale)?))
    }
}

impl PartialEq for Decimal {
    fn eq(&self, other: &Self) -> bool {
        self.partial_cmp(other) == Some(std::cmp::Ordering::Equal)
    }
}

/// Equality is exact and reflexive: a value always meets itself at its own scale.
impl Eq for Decimal {}

impl std::fmt::Display for Decimal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let digits = self.mantissa.unsigned_abs().to_string();
        let scale = self.scale as usize;
        let sign = if self.mantissa < 0 { "-" } else { "" };
        if scale == 0 {
            return write!(f, "{sign}{digits}");
        }
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (whole, fraction) = padded.split_at(padded.len() - scale);
        write!(f, "{sign}{whole}.{fraction}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_compare_and_add_exactly() {
        let d = |t| Decimal::parse(t).expect(t);
        assert_eq!(d("5000"), d("5000.000"));
        assert_eq!(d("-0.850"), d("-.85"));
        assert_ne!(d("4850"), d("4850.5"));
        assert_eq!(d("0.1").plus(d("0.2")), Some(d("0.3")));
        assert_eq!(
            d("4850").plus(d("150")).map(|s| s.to_string()),
            Some("5000".into())
        );
        assert_eq!(
            d("1.5").plus(d("-2")).map(|s| s.to_string()),
            Some("-0.5".into())
        );
        for bad in ["", "-", ".", "1,5", "1e3", "1.2.3", "x"] {
            assert!(Decimal::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn decimals_multiply_exactly_and_divide_only_for_showing() {
        let d = |t| Decimal::parse(t).expect(t);
        let show = |x: Option<Decimal>| x.map(|x| x.to_string());
        assert_eq!(
            show(d("400").times(d("0.45359237"))),
            Some("181.436948".into())
        );
        assert_eq!(show(d("120").times(d("3.50"))), Some("420".into()));
        assert_eq!(show(d("-0.5").times(d("4"))), Some("-2".into()));
        assert!(d("420.000001") > d("420"));
        assert!(d("-1") < d("0.5"));
        assert_eq!(show(d("1").divided(d("3"), 4)), Some("0.3333".into()));
        assert_eq!(show(d("2").divided(d("3"), 2)), Some("0.67".into()));
        assert_eq!(show(d("-2").divided(d("3"), 2)), Some("-0.67".into()));
        assert_eq!(
            show(d("181.436948").divided(d("0.45359237"), 6)),
            Some("400".into())
        );
        assert_eq!(d("1").divided(d("0"), 2), None);
        let huge = d("99999999999999999999999999999");
        assert_eq!(
            huge.times(huge).and_then(|h| h.times(huge)),
            None,
            "overflow is None, not a wrong figure"
        );
    }
}
