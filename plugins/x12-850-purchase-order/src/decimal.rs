//! The CTT02 hash total: the exact sum of the PO102 quantities, as decimal strings (never floats, so `0.1 + 0.2`
//! is `0.3`), cut to the ten digits element 347 holds by dropping the leading ones, as X12 truncates hash totals.

/// The most digits CTT02 (element 347, `R 1/10`) holds.
const HASH_DIGITS: usize = 10;

/// The hash total of non-negative decimals such as `"5000"`, `"400.5"`, `".25"`; `None` when a value is not such
/// a decimal or the fraction alone is wider than the element.
pub fn hash_total<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut parts = Vec::new();
    for value in values {
        let (int, frac) = value.split_once('.').unwrap_or((value, ""));
        if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
            || (int.is_empty() && frac.is_empty())
        {
            return None;
        }
        parts.push((int, frac));
    }
    let scale = parts.iter().map(|(_, f)| f.len()).max().unwrap_or(0);
    let width = parts.iter().map(|(i, _)| i.len()).max().unwrap_or(0) + scale + 1;
    // Little-endian digits of the sum, every value scaled to the widest fraction.
    let mut sum = vec![0u8; width + parts.len().to_string().len()];
    for (int, frac) in &parts {
        let digits: Vec<u8> = int
            .bytes()
            .chain(frac.bytes())
            .chain(std::iter::repeat_n(b'0', scale - frac.len()))
            .map(|b| b - b'0')
            .collect();
        let mut carry = 0u8;
        for (i, slot) in sum.iter_mut().enumerate() {
            let digit = digits.len().checked_sub(i + 1).map_or(0, |j| digits[j]);
            let total = *slot + digit + carry;
            *slot = total % 10;
            carry = total / 10;
        }
    }
    let text: String = sum.iter().rev().map(|d| char::from(b'0' + d)).collect();
    let (int, frac) = text.split_at(text.len() - scale);
    let frac = frac.trim_end_matches('0');
    let int = int.trim_start_matches('0');
    if frac.len() > HASH_DIGITS {
        return None;
    }
    let keep = HASH_DIGITS - frac.len();
    let int = &int[int.len().saturating_sub(keep)..];
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() && (frac.is_empty() || keep > 0) {
        "0"
    } else {
        int
    };
    Some(if frac.is_empty() {
        int.to_owned()
    } else {
        format!("{int}.{frac}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_are_exact_and_keep_the_rightmost_ten_digits() {
        assert_eq!(
            hash_total(["5000", "8000", "400"]).as_deref(),
            Some("13400")
        );
        assert_eq!(hash_total(["0.1", "0.2"]).as_deref(), Some("0.3"));
        assert_eq!(hash_total(["5000.000", "2.50"]).as_deref(), Some("5002.5"));
        assert_eq!(hash_total([".25", ".75"]).as_deref(), Some("1"));
        assert_eq!(hash_total(["0"]).as_deref(), Some("0"));
        assert_eq!(
            hash_total(["99999999999", "1"]).as_deref(),
            Some("0"),
            "100000000000 keeps its ten rightmost digits"
        );
        assert_eq!(
            hash_total(["123456789012.5"]).as_deref(),
            Some("456789012.5")
        );
        assert_eq!(hash_total(["0.00000000001"]), None);
        assert_eq!(hash_total(["-1"]), None);
        assert_eq!(hash_total(["."]), None);
        assert_eq!(hash_total(Vec::<&str>::new()).as_deref(), Some("0"));
    }
}
