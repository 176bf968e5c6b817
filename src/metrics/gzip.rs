//! The rendered exposition, kept compressed.
//!
//! A large fleet's exposition is tens of megabytes of text and a tenth of
//! that deflated (docs/performance.md has the figures). It is deflated as it is written, never held as text, in
//! pieces: each piece of text (a metric family, or 256 KB of one) is
//! deflated on its own and ends in a sync flush (a byte boundary, no final
//! block), so pieces can follow one another in any order, and a piece whose
//! text is byte for byte the one of the previous render (the same fleet
//! gives the same per-order families) is taken from it instead of being
//! deflated again. Each scrape only deflates the small tail of process
//! counters, appends it as the stream's last blocks, and closes the gzip
//! member with the CRC-32 of all parts combined. The result is one ordinary
//! gzip member, readable by every client (some, like curl, read only the
//! first member of a multi-member file). A client that does not accept gzip
//! gets the text inflated for it as it is sent, a chunk at a time.

use std::collections::HashMap;
use std::io::Write;

use bytes::Bytes;
use flate2::write::DeflateEncoder;
use flate2::{Compression, Decompress, FlushDecompress, Status};

/// Text deflated up to a sync flush, that any tail can be appended to.
pub struct GzipPrefix {
    pieces: Vec<Piece>,
    crc: crc32fast::Hasher,
    len: u64,
}

/// A piece of text deflated on its own, with what it takes to reuse it.
#[derive(Clone)]
struct Piece {
    /// xxh3-128 of the text.
    digest: u128,
    deflated: Bytes,
    crc: crc32fast::Hasher,
    len: u64,
}

/// Deflates text a piece at a time, reusing the previous render's pieces.
pub struct PrefixWriter {
    pieces: Vec<Piece>,
    crc: crc32fast::Hasher,
    len: u64,
    previous: HashMap<u128, Piece>,
}

/// zlib-rs's level 4: levels 1 and 2 deflate faster but give a body a half
/// and a quarter larger; every scrape sends the body, so the smaller one
/// pays (the benchmark's gzip latency fell with it: docs/performance.md).
const LEVEL: u32 = 4;

const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

/// `text` deflated by a fresh encoder, ending in a sync flush (`finish`:
/// with a final block, which only the very end of the stream may have).
fn deflate(text: &[u8], finish: bool) -> Vec<u8> {
    let mut encoder = DeflateEncoder::new(
        Vec::with_capacity(text.len() / 8 + 64),
        Compression::new(LEVEL),
    );
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(text);
    if finish {
        return encoder.finish().unwrap_or_default();
    }
    let _ = encoder.flush();
    let mut deflated = std::mem::take(encoder.get_mut());
    // Kept until the next render: no spare capacity.
    deflated.shrink_to_fit();
    deflated
}

impl PrefixWriter {
    /// A writer that takes unchanged pieces from `previous` (the render
    /// before) instead of deflating them again.
    pub fn new(previous: Option<&GzipPrefix>) -> PrefixWriter {
        PrefixWriter {
            pieces: Vec::new(),
            crc: crc32fast::Hasher::new(),
            len: 0,
            previous: previous
                .map(|p| {
                    p.pieces
                        .iter()
                        .map(|piece| (piece.digest, piece.clone()))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// Adds `text` as one piece.
    pub fn write(&mut self, text: &[u8]) {
        if text.is_empty() {
            return;
        }
        let digest = xxhash_rust::xxh3::xxh3_128(text);
        let piece = match self.previous.get(&digest) {
            Some(known) if known.len == text.len() as u64 => known.clone(),
            _ => {
                let mut crc = crc32fast::Hasher::new();
                crc.update(text);
                Piece {
                    digest,
                    deflated: Bytes::from(deflate(text, false)),
                    crc,
                    len: text.len() as u64,
                }
            }
        };
        self.crc.combine(&piece.crc);
        self.len += piece.len;
        self.pieces.push(piece);
    }

    /// The pieces written, as a prefix that any tail can follow.
    pub fn finish(self) -> GzipPrefix {
        GzipPrefix {
            pieces: self.pieces,
            crc: self.crc,
            len: self.len,
        }
    }
}

impl GzipPrefix {
    /// Deflates `text` in one go.
    #[cfg(test)]
    pub fn new(text: &[u8]) -> GzipPrefix {
        let mut writer = PrefixWriter::new(None);
        writer.write(text);
        writer.finish()
    }

    /// Length of the text.
    #[cfg(test)]
    pub fn text_len(&self) -> u64 {
        self.len
    }

    /// Length of the deflated text.
    #[cfg(test)]
    pub fn compressed_len(&self) -> usize {
        self.pieces.iter().map(|p| p.deflated.len()).sum()
    }

    /// How many pieces the text was deflated in.
    #[cfg(test)]
    pub fn piece_count(&self) -> usize {
        self.pieces.len()
    }

    /// Pieces shared with `other` (taken from it, or it from this one).
    #[cfg(test)]
    pub fn shared_pieces(&self, other: &GzipPrefix) -> usize {
        self.pieces
            .iter()
            .filter(|p| {
                other
                    .pieces
                    .iter()
                    .any(|o| o.deflated.as_ptr() == p.deflated.as_ptr())
            })
            .count()
    }

    /// One gzip member holding the prefix's text followed by `tail`, as
    /// chunks (the deflated pieces are shared, not copied).
    pub fn with_tail(&self, tail: &[u8]) -> Vec<Bytes> {
        let mut end = deflate(tail, true);
        let mut crc = self.crc.clone();
        let mut tail_crc = crc32fast::Hasher::new();
        tail_crc.update(tail);
        crc.combine(&tail_crc);
        end.extend_from_slice(&crc.finalize().to_le_bytes());
        end.extend_from_slice(&((self.len + tail.len() as u64) as u32).to_le_bytes());
        let mut chunks = Vec::with_capacity(self.pieces.len() + 2);
        chunks.push(Bytes::from_static(&HEADER));
        chunks.extend(self.pieces.iter().map(|p| p.deflated.clone()));
        chunks.push(Bytes::from(end));
        chunks
    }

    /// The text, inflated a piece at a time: what a client without gzip
    /// is sent, without the whole text ever being held at once.
    pub fn text_chunks(&self) -> TextChunks {
        TextChunks {
            pieces: self.pieces.iter().map(|p| p.deflated.clone()).collect(),
            piece: 0,
            read: 0,
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
    pieces: Vec<Bytes>,
    /// The piece being read, and how much of it the inflater has taken.
    piece: usize,
    read: usize,
    inflater: Decompress,
    done: bool,
}

/// Text inflated per chunk: large enough for few calls into the inflater,
/// small enough that a response the client does not read holds little.
const TEXT_CHUNK: usize = 64 * 1024;

impl Iterator for TextChunks {
    type Item = Bytes;

    fn next(&mut self) -> Option<Bytes> {
        let mut out = Vec::with_capacity(TEXT_CHUNK);
        while !self.done && out.len() < out.capacity() {
            let Some(piece) = self.pieces.get(self.piece) else {
                self.done = true;
                break;
            };
            let input = piece.get(self.read..).unwrap_or_default();
            let before = (self.inflater.total_in(), self.inflater.total_out());
            let status = self
                .inflater
                .decompress_vec(input, &mut out, FlushDecompress::Sync);
            let taken = self.inflater.total_in() - before.0;
            self.read += usize::try_from(taken).unwrap_or(usize::MAX);
            let progressed = before != (self.inflater.total_in(), self.inflater.total_out());
            if matches!(status, Ok(Status::StreamEnd) | Err(_))
                || (!progressed && !input.is_empty())
            {
                // Our own pieces never end the stream or fail; stop if one did.
                self.done = true;
            } else if !progressed {
                // This piece is inflated whole: on to the next.
                self.piece += 1;
                self.read = 0;
            }
        }
        (!out.is_empty()).then(|| Bytes::from(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::GzDecoder;
    use std::io::Read;

    fn gunzip_single_member(chunks: Vec<Bytes>) -> Vec<u8> {
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
        let mut writer = PrefixWriter::new(None);
        for piece in prefix.as_bytes().chunks(20_000) {
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
    fn unchanged_pieces_are_taken_from_the_previous_render() {
        let family = |name: &str, value: u32| -> String {
            (0..3000)
                .map(|i| format!("{name}{{order_id=\"{i}\"}} {value}\n"))
                .collect()
        };
        let write = |parts: &[String], previous: Option<&GzipPrefix>| {
            let mut writer = PrefixWriter::new(previous);
            for part in parts {
                writer.write(part.as_bytes());
            }
            writer.finish()
        };
        let first = write(&[family("a", 1), family("b", 2), family("c", 3)], None);
        let parts = [family("a", 1), family("b", 5), family("c", 3)];
        let second = write(&parts, Some(&first));
        assert_eq!(
            second.shared_pieces(&first),
            2,
            "a and c reused, b deflated"
        );
        assert_eq!(second.text(), parts.concat().into_bytes());
        assert_eq!(
            gunzip_single_member(second.with_tail(b"live 1\n")),
            format!("{}live 1\n", parts.concat()).into_bytes()
        );
        // Pieces in another order still make one valid stream.
        let moved = write(&[family("c", 3), family("a", 1)], Some(&second));
        assert_eq!(moved.shared_pieces(&second), 2);
        assert_eq!(
            moved.text(),
            [family("c", 3), family("a", 1)].concat().into_bytes()
        );
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
