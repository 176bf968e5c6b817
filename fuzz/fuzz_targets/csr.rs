//! The CSR reader: any bytes, as they come and as DER inside PEM armour,
//! read as a key, unreadable or missing, never a panic.
#![no_main]

use base64::Engine;
use certcentral_exporter::certcentral::report::CsrKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = CsrKey::from_csr(data);
    let body = base64::engine::general_purpose::STANDARD.encode(data);
    let pem =
        format!("-----BEGIN CERTIFICATE REQUEST-----\n{body}\n-----END CERTIFICATE REQUEST-----\n");
    let _ = CsrKey::from_csr(pem.as_bytes());
});
