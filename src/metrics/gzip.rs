//! The rendered exposition, kept compressed.
//!
//! At 100,000 orders the fleet's exposition is around 100 MB of text and
//! 7 MB deflated. It is deflated as it is written, never held as text: the
//! stream ends in a sync flush (a byte boundary, no final block), so each
//! scrape only deflates the small tail of process counters, appends it as
//! the stream's last blocks, and closes the gzip member with the CRC-32 of
//! both parts combined. The result is one ordinary gzip member, readable by
//! every client (some, like curl, read only the first member of a
//! multi-member file). A client that does not accept gzip gets the text
//! inflated for it as it is sent, a chunk at a time.

use std::io::Write;

use bytes::Bytes;
use flate2::write::DeflateEncoder;
use flate2::{Compression, Decompress, FlushDecompress, Status};

/// Text deflated up to a sync flush, that any tail can be appended to.
pub struct GzipPrefix {
    deflated: Bytes,
    crc: crc32fast::Hasher,
    len: u64,
}

/// Deflates text as it is written.
pub struct PrefixWriter {
    encoder: DeflateEncoder<Vec<u8>>,
    crc: crc32fast::Hasher,
    len: u64,
}

/// zlib-rs's level 4: at 100,000 orders, 67 MB of text deflates to 5.0 MB
/// in about 170 ms, once per render. Level 1 takes 66 ms but gives 7.8 MB,
/// level 2 6.3 MB in 93 ms; every scrape sends the body, so the smaller one
/// pays (the benchmark's gzip p50 fell from 11 to 7.5 ms with it).
const LEVEL: u32 = 4;

const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

impl Default for PrefixWriter {
    fn default() -> Self {
        PrefixWriter {
            encoder: DeflateEncoder::new(Vec::new(), Compression::new(LEVEL)),
            crc: crc32fast::Hasher::new(),
            len: 0,
        }
    }
}

impl PrefixWriter {
    pub fn write(&mut self, text: &[u8]) {
        // Writing into a Vec cannot fail.
        let _ = self.encoder.write_all(text);
        self.crc.update(text);
        self.len += text.len() as u64;
    }

    /// Ends the text with a sync flush.
    pub fn finish(mut self) -> GzipPrefix {
        let _ = self.encoder.flush();
        let mut deflated = std::mem::take(self.encoder.get_mut());
        deflated.shrink_to_fit();
        GzipPrefix {
            deflated: Bytes::from(deflated),
            crc: self.crc,
            len: self.len,
        }
    }
}

impl GzipPrefix {
    /// Deflates `text` in one go.
    pub fn new(text: &[u8]) -> GzipPrefix {
        let mut writer = PrefixWriter::default();
        writer.write(text);
        writer.finish()
    }

    /// Length of the text.
    pub fn text_len(&self) -> u64 {
        self.len
    }

    /// Length of the deflated text.
    pub fn compressed_len(&self) -> usize {
        self.deflated.len()
    }

    /// One gzip member holding the prefix's text followed by `tail`, as
    /// chunks (the deflated prefix is shared, not copied).
    pub fn with_tail(&self, tail: &[u8]) -> [Bytes; 3] {
        let mut encoder = DeflateEncoder::new(
            Vec::with_capacity(tail.len() / 4 + 64),
            Compression::new(LEVEL),
        );
        let _ = encoder.write_all(tail);
        let mut end = encoder.finish().unwrap_or_default();
        let mut crc = self.crc.clone();
        let mut tail_crc = crc32fast::Hasher::new();
        tail_crc.update(tail);
        crc.combine(&tail_crc);
        end.extend_from_slice(&crc.finalize().to_le_bytes());
        end.extend_from_slice(&((self.len + tail.len() as u64) as u32).to_le_bytes());
        [
            Bytes::from_static(&HEADER),
            self.deflated.clone(),
            Bytes::from(end),
        ]
    }

    /// The text, inflated a piece at a time: what a client without gzip
    /// is sent, without the whole text ever being held at once.
    pub fn text_chunks(&self) -> TextChunks {
        TextChunks {
            deflated: self.deflated.clone(),
            inflater: Decompress::new(false),
            done: false,
        }
    }

    /// The whole text, inflated.
    #[cfg(test)]
    pub fn text(&self) -> Vec<u8> {
        let mut text = Vec::with_capacity(usize::try_from(self.len).unwrap_or(0));
        for chunk in self.text_chunks() {
            text.extend_from_slice(&chunk);
        }
        text
    }
}

/// Inflated text of a [`GzipPrefix`], in chunks of at most [`TEXT_CHUNK`].
pub struct TextChunks {
    deflated: Bytes,
    inflater: Decompress,
    done: bool,
}

/// Text inflated per chunk: large enough for few calls into the inflater,
/// small enough that a scrape holds little (about 0.2 ms of work each).
const TEXT_CHUNK: usize = 256 * 1024;

impl Iterator for TextChunks {
    type Item = Bytes;

    fn next(&mut self) -> Option<Bytes> {
        let mut out = Vec::with_capacity(TEXT_CHUNK);
        while !self.done && out.len() < out.capacity() {
            let read = usize::try_from(self.inflater.total_in()).unwrap_or(usize::MAX);
            let input = self.deflated.get(read..).unwrap_or_default();
            let before = (self.inflater.total_in(), self.inflater.total_out());
            let status = self
                .inflater
                .decompress_vec(input, &mut out, FlushDecompress::Sync);
            let progressed = before != (self.inflater.total_in(), self.inflater.total_out());
            self.done = !progressed || matches!(status, Ok(Status::StreamEnd) | Err(_));
        }
        (!out.is_empty()).then(|| Bytes::from(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::GzDecoder;
    use std::io::Read;

    fn gunzip_single_member(chunks: [Bytes; 3]) -> Vec<u8> {
        let bytes: Vec<u8> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
        let mut text = Vec::new();
        GzDecoder::new(&bytes[..]).read_to_end(&mut text).unwrap();
        text
    }

    #[test]
    fn prefix_and_tail_make_one_valid_member() {
        let prefix: String = (0..5000)
            .map(|i| format!("metric{{order_id=\"{i}\"}} {i}\n"))
            .collect();
        let tail = "# TYPE live counter\nlive 42\n";
        let mut writer = PrefixWriter::default();
        for piece in prefix.as_bytes().chunks(777) {
            writer.write(piece);
        }
        let gz = writer.finish();
        assert!(
            gz.compressed_len() < prefix.len() / 4,
            "compresses: {} bytes",
            gz.compressed_len()
        );
        assert_eq!(
            gunzip_single_member(gz.with_tail(tail.as_bytes())),
            format!("{prefix}{tail}").into_bytes()
        );
        assert_eq!(gz.text(), prefix.as_bytes());
        assert_eq!(gz.text_len(), prefix.len() as u64);
    }

    #[test]
    fn empty_parts() {
        let gz = GzipPrefix::new(b"");
        assert_eq!(gunzip_single_member(gz.with_tail(b"")), b"");
        assert_eq!(gz.text(), b"");
        let gz = GzipPrefix::new(b"abc");
        assert_eq!(gunzip_single_member(gz.with_tail(b"")), b"abc");
        assert_eq!(gz.text(), b"abc");
    }

    #[test]
    fn large_text_inflates_whole_in_bounded_chunks() {
        let text: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let gz = GzipPrefix::new(&text);
        let chunks: Vec<Bytes> = gz.text_chunks().collect();
        assert!(
            chunks.len() >= text.len() / TEXT_CHUNK,
            "{} chunks",
            chunks.len()
        );
        assert!(
            chunks
                .iter()
                .all(|c| !c.is_empty() && c.len() <= TEXT_CHUNK)
        );
        assert_eq!(gz.text(), text);
    }
}
