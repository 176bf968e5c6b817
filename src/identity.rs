//! How a certificate is recognised where it is served: by its thumbprint
//! (the SHA-1 of its DER, as CertCentral reports it) or its serial number.
//! CertCentral and a TLS handshake spell both differently (upper or lower
//! case, with or without colons, serials with or without leading zeros),
//! so both are kept in one normal form: upper-case hexadecimal, no
//! separators, a serial without leading zeros.

use serde::{Deserialize, Serialize};

/// A certificate's thumbprint and serial number, normalised; either may be
/// unknown (absent, or not hexadecimal).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CertificateId {
    /// Upper-case hex, no separators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbprint: Option<Box<str>>,
    /// Upper-case hex, no separators, no leading zeros ("0" for zero).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<Box<str>>,
}

impl CertificateId {
    /// From the spellings an answer gives (absent or empty: unknown).
    pub fn new(thumbprint: Option<&str>, serial: Option<&str>) -> CertificateId {
        CertificateId {
            thumbprint: thumbprint.and_then(normal_thumbprint),
            serial: serial.and_then(normal_serial),
        }
    }

    /// Whether neither is known.
    pub fn is_empty(&self) -> bool {
        self.thumbprint.is_none() && self.serial.is_none()
    }
}

/// Hex digits of `text` in upper case, with `:`, white space and a `0x`
/// prefix dropped; `None` when anything else is left or nothing is.
fn hex(text: &str) -> Option<String> {
    let text = text.trim();
    let text = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    let digits: String = text
        .chars()
        .filter(|c| *c != ':' && !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (!digits.is_empty() && digits.chars().all(|c| c.is_ascii_hexdigit())).then_some(digits)
}

/// A thumbprint in normal form: an even number of hex digits (a SHA-1 is
/// 40).
pub fn normal_thumbprint(text: &str) -> Option<Box<str>> {
    hex(text)
        .filter(|digits| digits.len().is_multiple_of(2))
        .map(String::into_boxed_str)
}

/// A serial number in normal form: its value in hex, without leading
/// zeros (a DER integer keeps a leading zero byte where the first bit is
/// set; CertCentral may leave it out).
pub fn normal_serial(text: &str) -> Option<Box<str>> {
    let digits = hex(text)?;
    let trimmed = digits.trim_start_matches('0');
    Some(if trimmed.is_empty() { "0" } else { trimmed }.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_certificate_compare_equal() {
        let a = CertificateId::new(
            Some("a9:4F:1e:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00"),
            Some("00:0F:DA"),
        );
        let b = CertificateId::new(
            Some("A94F1E00112233445566778899AABBCCDDEEFF00"),
            Some("0fda"),
        );
        assert_eq!(a, b);
        assert_eq!(a.serial.as_deref(), Some("FDA"));
        assert_eq!(normal_serial("0x00"), Some("0".into()));
        assert_eq!(normal_serial(" 1F "), Some("1F".into()));
    }

    #[test]
    fn what_is_not_hex_is_unknown() {
        for text in ["", "  ", "<thumbprint>", "12:3G", "abc"] {
            assert_eq!(normal_thumbprint(text), None, "{text:?}");
        }
        assert_eq!(normal_serial("not a serial"), None);
        assert!(CertificateId::new(None, Some("")).is_empty());
    }
}
