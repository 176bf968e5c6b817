//! Gzip for `/metrics` without compressing the big part on every scrape.
//!
//! The fleet's exposition changes once per poll, the process counters after
//! it on every scrape. The fleet part is deflated once, ending in a sync
//! flush (a byte boundary, no final block); each scrape deflates only the
//! small tail, appends it as the stream's last blocks, and closes the gzip
//! member with the CRC-32 of both parts combined. The result is one ordinary
//! gzip member, readable by every client (some, like curl, read only the
//! first member of a multi-member file).

use std::io::Write;

use flate2::Compression;
use flate2::write::DeflateEncoder;

/// A deflated prefix that any tail can be appended to.
pub struct GzipPrefix {
    deflated: Vec<u8>,
    crc: crc32fast::Hasher,
    len: u64,
}

const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

impl GzipPrefix {
    /// Deflates `text` up to a sync flush.
    pub fn new(text: &[u8]) -> GzipPrefix {
        let mut encoder =
            DeflateEncoder::new(Vec::with_capacity(text.len() / 6), Compression::fast());
        // Writing into a Vec cannot fail.
        let _ = encoder.write_all(text);
        let _ = encoder.flush();
        let deflated = std::mem::take(encoder.get_mut());
        let mut crc = crc32fast::Hasher::new();
        crc.update(text);
        GzipPrefix {
            deflated,
            crc,
            len: text.len() as u64,
        }
    }

    /// One gzip member holding the prefix's text followed by `tail`.
    pub fn with_tail(&self, tail: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER.len() + self.deflated.len() + tail.len() / 4 + 64);
        out.extend_from_slice(&HEADER);
        out.extend_from_slice(&self.deflated);
        let mut encoder = DeflateEncoder::new(out, Compression::fast());
        let _ = encoder.write_all(tail);
        let mut out = encoder.finish().unwrap_or_default();
        let mut crc = self.crc.clone();
        let mut tail_crc = crc32fast::Hasher::new();
        tail_crc.update(tail);
        crc.combine(&tail_crc);
        out.extend_from_slice(&crc.finalize().to_le_bytes());
        out.extend_from_slice(&((self.len + tail.len() as u64) as u32).to_le_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::GzDecoder;
    use std::io::Read;

    fn gunzip_single_member(bytes: &[u8]) -> Vec<u8> {
        let mut text = Vec::new();
        GzDecoder::new(bytes).read_to_end(&mut text).unwrap();
        text
    }

    #[test]
    fn prefix_and_tail_make_one_valid_member() {
        let prefix: String = (0..5000)
            .map(|i| format!("metric{{order_id=\"{i}\"}} {i}\n"))
            .collect();
        let tail = "# TYPE live counter\nlive 42\n";
        let gz = GzipPrefix::new(prefix.as_bytes()).with_tail(tail.as_bytes());
        assert_eq!(
            gunzip_single_member(&gz),
            format!("{prefix}{tail}").into_bytes()
        );
        assert!(
            gz.len() < prefix.len() / 4,
            "compresses: {} bytes",
            gz.len()
        );
    }

    #[test]
    fn empty_parts() {
        let gz = GzipPrefix::new(b"").with_tail(b"");
        assert_eq!(gunzip_single_member(&gz), b"");
        let gz = GzipPrefix::new(b"abc").with_tail(b"");
        assert_eq!(gunzip_single_member(&gz), b"abc");
    }
}
