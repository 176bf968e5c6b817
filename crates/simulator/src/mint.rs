//! Real X.509 certificates for the simulated account, so that the
//! thumbprints and serial numbers the API reports are those of a
//! certificate an endpoint can serve (see `endpoints`).
//!
//! Every certificate is minted from its order's names and dates by the
//! simulator's own CA, with Ed25519 keys derived from fixed seeds:
//! Ed25519 signatures are deterministic, so the same certificate has the
//! same DER (and thumbprint) in every run and every process. The serial
//! number is the one the fleet gives the certificate id. Minting costs
//! tens of microseconds, so a certificate is minted when first asked for
//! and its thumbprint remembered.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash as _, Hasher as _};
use std::sync::{LazyLock, Mutex};

use chrono::{Datelike, NaiveDate};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ED25519, SanType, SerialNumber,
};
use rustls::pki_types::PrivatePkcs8KeyDer;
use sha1::{Digest as _, Sha1};

/// Who signs a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Authority {
    /// The simulated CertCentral's CA: every certificate of the account.
    Account,
    /// A CA nobody trusts and CertCentral never heard of.
    Stranger,
}

/// What goes into one certificate.
#[derive(Debug, Clone, Hash)]
pub(crate) struct Leaf {
    /// The subject's common name (may be a wildcard, may be non-ASCII).
    pub(crate) common_name: String,
    /// The names of the subjectAltName, IDNs in any form.
    pub(crate) dns_names: Vec<String>,
    /// The serial number, as hex.
    pub(crate) serial: String,
    /// First day of validity (from 00:00:00 UTC).
    pub(crate) valid_from: NaiveDate,
    /// Last day of validity (until 23:59:59 UTC).
    pub(crate) valid_till: NaiveDate,
    pub(crate) authority: Authority,
}

/// A CA: its certificate and what signs with it.
struct Ca {
    der: Vec<u8>,
    issuer: Issuer<'static, KeyPair>,
}

static ACCOUNT_CA: LazyLock<Option<Ca>> =
    LazyLock::new(|| ca("Simulated CertCentral CA (not for production)", 0x5c));
static STRANGER_CA: LazyLock<Option<Ca>> =
    LazyLock::new(|| ca("Unknown Test CA (trust nobody)", 0xa7));
/// One key for every leaf: the simulator's endpoints serve it.
static LEAF_KEY: LazyLock<Option<KeyPair>> = LazyLock::new(|| ed25519(0x1e));
/// Thumbprints already minted, by the content they were minted from.
static THUMBPRINTS: LazyLock<Mutex<HashMap<u64, String>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));
/// Thumbprints remembered at most (then forgotten all at once).
const MAX_REMEMBERED: usize = 4_000_000;

/// An Ed25519 key from a one-byte seed (PKCS#8 v1 of 32 equal bytes).
fn ed25519(seed: u8) -> Option<KeyPair> {
    let mut pkcs8 = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    pkcs8.extend_from_slice(&[seed; 32]);
    KeyPair::from_pkcs8_der_and_sign_algo(&PrivatePkcs8KeyDer::from(pkcs8), &PKCS_ED25519).ok()
}

fn ca(name: &str, seed: u8) -> Option<Ca> {
    let key = ed25519(seed)?;
    let mut params = CertificateParams::default();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, name);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "certcentral-simulator");
    params.not_before = rcgen::date_time_ymd(2000, 1, 1);
    params.not_after = rcgen::date_time_ymd(2099, 12, 31);
    params.serial_number = Some(SerialNumber::from_slice(&[seed]));
    let der = params.self_signed(&key).ok()?.der().to_vec();
    Some(Ca {
        der,
        issuer: Issuer::new(params, key),
    })
}

fn authority(which: Authority) -> Option<&'static Ca> {
    match which {
        Authority::Account => ACCOUNT_CA.as_ref(),
        Authority::Stranger => STRANGER_CA.as_ref(),
    }
}

/// The DER of `authority`'s CA certificate.
pub(crate) fn ca_der(which: Authority) -> Option<Vec<u8>> {
    authority(which).map(|ca| ca.der.clone())
}

/// `authority`'s CA certificate in PEM, for a client to trust.
pub(crate) fn ca_pem(which: Authority) -> Option<String> {
    use base64::Engine as _;
    let text = base64::engine::general_purpose::STANDARD.encode(ca_der(which)?);
    let lines: Vec<&str> = text
        .as_bytes()
        .chunks(64)
        .filter_map(|line| std::str::from_utf8(line).ok())
        .collect();
    Some(format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    ))
}

/// The PKCS#8 DER of the key every leaf certifies.
pub(crate) fn leaf_key_der() -> Option<Vec<u8>> {
    LEAF_KEY.as_ref().map(KeyPair::serialize_der)
}

/// A DNS name as a certificate can carry it: IDNs in their ASCII form, a
/// leading `*.` kept; `None` for what no certificate can carry.
fn ascii_name(name: &str) -> Option<String> {
    let (wildcard, rest) = match name.strip_prefix("*.") {
        Some(rest) => ("*.", rest),
        None => ("", name),
    };
    let ascii = match url::Host::parse(rest).ok()? {
        url::Host::Domain(domain) => domain,
        _ => return None,
    };
    Some(format!("{wildcard}{ascii}"))
}

/// `day` at `hour:minute:second` UTC.
fn date(day: NaiveDate, hour: u8, minute: u8, second: u8) -> Option<time::OffsetDateTime> {
    let month = time::Month::try_from(u8::try_from(day.month()).ok()?).ok()?;
    let date =
        time::Date::from_calendar_date(day.year(), month, u8::try_from(day.day()).ok()?).ok()?;
    let at = time::Time::from_hms(hour, minute, second).ok()?;
    Some(date.with_time(at).assume_utc())
}

/// The DER of `leaf`, or `None` if it cannot be minted (a serial that is
/// not hex, a date out of X.509's range).
pub(crate) fn der(leaf: &Leaf) -> Option<Vec<u8>> {
    let ca = authority(leaf.authority)?;
    let key = LEAF_KEY.as_ref()?;
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, leaf.common_name.as_str());
    params.subject_alt_names = leaf
        .dns_names
        .iter()
        .filter_map(|name| ascii_name(name))
        .filter_map(|name| name.try_into().ok().map(SanType::DnsName))
        .collect();
    params.serial_number = Some(SerialNumber::from_slice(&hex(&leaf.serial)?));
    params.not_before = date(leaf.valid_from, 0, 0, 0)?;
    params.not_after = date(leaf.valid_till, 23, 59, 59)?;
    params.use_authority_key_identifier_extension = true;
    let certificate = params.signed_by(key, &ca.issuer).ok()?;
    Some(certificate.der().to_vec())
}

fn hex(text: &str) -> Option<Vec<u8>> {
    let text = text.as_bytes();
    if text.is_empty() || !text.len().is_multiple_of(2) {
        return None;
    }
    text.chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect()
}

/// The SHA-1 of DER in upper-case hex, as CertCentral writes thumbprints.
pub(crate) fn sha1_hex(der: &[u8]) -> String {
    Sha1::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

/// The thumbprint of `leaf` (minted once, then remembered); empty if it
/// cannot be minted.
pub(crate) fn thumbprint(leaf: &Leaf) -> String {
    let mut hasher = DefaultHasher::new();
    leaf.hash(&mut hasher);
    let key = hasher.finish();
    if let Some(known) = THUMBPRINTS.lock().ok().and_then(|m| m.get(&key).cloned()) {
        return known;
    }
    let thumbprint = der(leaf).map(|der| sha1_hex(&der)).unwrap_or_default();
    if let Ok(mut remembered) = THUMBPRINTS.lock() {
        if remembered.len() >= MAX_REMEMBERED {
            remembered.clear();
        }
        remembered.insert(key, thumbprint.clone());
    }
    thumbprint
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf() -> Leaf {
        Leaf {
            common_name: "*.bücher.example".into(),
            dns_names: vec!["*.bücher.example".into(), "www.example.com".into()],
            serial: "0123456789ABCDEF0123456789ABCDEF".into(),
            valid_from: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            valid_till: NaiveDate::from_ymd_opt(2027, 1, 31).unwrap(),
            authority: Authority::Account,
        }
    }

    #[test]
    fn certificates_are_real_and_the_same_every_time() {
        let der = der(&leaf()).unwrap();
        assert_eq!(der, super::der(&leaf()).unwrap(), "deterministic");
        let (_, parsed) = x509_parser::parse_x509_certificate(&der).unwrap();
        assert_eq!(
            parsed
                .raw_serial_as_string()
                .replace(':', "")
                .to_uppercase(),
            "0123456789ABCDEF0123456789ABCDEF"
        );
        assert_eq!(parsed.validity().not_after.timestamp(), 1_801_439_999);
        let names: Vec<String> = parsed
            .subject_alternative_name()
            .unwrap()
            .unwrap()
            .value
            .general_names
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(
            names,
            [
                "DNSName(*.xn--bcher-kva.example)",
                "DNSName(www.example.com)"
            ]
        );
        assert_eq!(thumbprint(&leaf()), sha1_hex(&der));
        assert_eq!(thumbprint(&leaf()).len(), 40);
        let mut other = leaf();
        other.authority = Authority::Stranger;
        assert_ne!(thumbprint(&other), thumbprint(&leaf()));
    }
}
