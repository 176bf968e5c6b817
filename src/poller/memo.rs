//! The memo of unchanged pages: a page of the report or of the subaccount
//! listing that comes back as in the read before (by a digest of its bytes
//! as sent, or of its text) keeps its earlier parse, so most pages of a
//! large account are neither inflated nor parsed again.

use std::sync::Arc;

use crate::certcentral::ApiError;
use crate::certcentral::client::Answer;

/// A page of the report or of the subaccount listing as parsed, known by
/// digests (xxh3, 128 bits) of its bytes as sent and of its text: most
/// polls of a large account find most pages unchanged, and a digest costs a
/// fraction of an inflate and a parse.
pub(super) struct KnownPage<T> {
    wire_digest: u128,
    text_digest: u128,
    pub(super) parsed: Arc<T>,
}

impl<T> Clone for KnownPage<T> {
    fn clone(&self) -> Self {
        KnownPage {
            wire_digest: self.wire_digest,
            text_digest: self.text_digest,
            parsed: self.parsed.clone(),
        }
    }
}

impl<T> KnownPage<T> {
    /// `answer` parsed, or the parse of `known` (the same page in the read
    /// before) if the answer's bytes, as sent or inflated, are the same.
    pub(super) fn read<E: From<ApiError>>(
        answer: &Answer,
        known: Option<&KnownPage<T>>,
        parse: impl FnOnce(&[u8]) -> Result<T, E>,
    ) -> Result<KnownPage<T>, E> {
        match KnownPage::recognise(answer, known)? {
            Recognised::Known(page) => Ok(page),
            Recognised::New(text) => {
                let parsed = Arc::new(parse(&text.text)?);
                Ok(text.parsed(parsed))
            }
        }
    }

    /// The first half of [`KnownPage::read`]: `answer` as the page
    /// `known` if its bytes, as sent or inflated, are the same, else its
    /// text, still to be parsed.
    pub(super) fn recognise(
        answer: &Answer,
        known: Option<&KnownPage<T>>,
    ) -> Result<Recognised<T>, ApiError> {
        let wire_digest = answer.wire_digest();
        if let Some(known) = known.filter(|k| k.wire_digest == wire_digest) {
            return Ok(Recognised::Known(KnownPage {
                wire_digest,
                text_digest: known.text_digest,
                parsed: known.parsed.clone(),
            }));
        }
        // Another compressor (or level) may send the same text otherwise.
        let text = answer.text()?;
        let text_digest = xxhash_rust::xxh3::xxh3_128(&text);
        Ok(match known.filter(|k| k.text_digest == text_digest) {
            Some(known) => Recognised::Known(KnownPage {
                wire_digest,
                text_digest,
                parsed: known.parsed.clone(),
            }),
            None => Recognised::New(NewText {
                wire_digest,
                text_digest,
                text,
            }),
        })
    }

    /// Whether this page was taken from `other` rather than parsed again.
    pub(super) fn shares_parse(&self, other: &KnownPage<T>) -> bool {
        Arc::ptr_eq(&self.parsed, &other.parsed)
    }
}

/// An answer seen before (as that page) or not.
pub(super) enum Recognised<T> {
    Known(KnownPage<T>),
    New(NewText),
}

/// The text of a page not seen in the read before, with its digests.
pub(super) struct NewText {
    wire_digest: u128,
    text_digest: u128,
    pub(super) text: bytes::Bytes,
}

impl NewText {
    pub(super) fn parsed<T>(self, parsed: Arc<T>) -> KnownPage<T> {
        KnownPage {
            wire_digest: self.wire_digest,
            text_digest: self.text_digest,
            parsed,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::certcentral::Endpoint;

    const TEXT: &[u8] = b"order_id,status\n1,issued\n";

    fn gzipped(text: &[u8], level: u32) -> Vec<u8> {
        let mut encoder =
            flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
        encoder.write_all(text).unwrap();
        encoder.finish().unwrap()
    }

    /// Reads `answer` after `known`, counting parses.
    fn read(
        answer: &Answer,
        known: Option<&KnownPage<Vec<u8>>>,
        parses: &mut usize,
    ) -> Result<KnownPage<Vec<u8>>, ApiError> {
        KnownPage::read(answer, known, |text| {
            *parses += 1;
            Ok(text.to_vec())
        })
    }

    #[test]
    fn the_same_bytes_as_sent_are_neither_inflated_nor_parsed() {
        let mut parses = 0;
        let sent = gzipped(TEXT, 1);
        let first = read(
            &Answer::sent(Endpoint::Report, &sent, true),
            None,
            &mut parses,
        )
        .unwrap();
        assert_eq!((parses, &first.parsed[..]), (1, TEXT));
        // Known by the digest of its bytes as sent: a page that could not
        // be inflated proves that it was not.
        let same = KnownPage {
            wire_digest: xxhash_rust::xxh3::xxh3_128(b"not gzip"),
            text_digest: first.text_digest,
            parsed: first.parsed.clone(),
        };
        let again = read(
            &Answer::sent(Endpoint::Report, b"not gzip", true),
            Some(&same),
            &mut parses,
        );
        assert!(again.unwrap().shares_parse(&first));
        assert_eq!(parses, 1);
    }

    #[test]
    fn the_same_text_sent_otherwise_is_not_parsed_again() {
        let mut parses = 0;
        let first = read(
            &Answer::sent(Endpoint::Report, &gzipped(TEXT, 1), true),
            None,
            &mut parses,
        )
        .unwrap();
        let recompressed = Answer::sent(Endpoint::Report, &gzipped(TEXT, 9), true);
        let plain = Answer::sent(Endpoint::Report, TEXT, false);
        for answer in [recompressed, plain] {
            assert_ne!(answer.wire_digest(), first.wire_digest);
            let again = read(&answer, Some(&first), &mut parses).unwrap();
            assert!(again.shares_parse(&first));
        }
        assert_eq!(parses, 1);
    }

    #[test]
    fn a_changed_page_is_parsed_and_a_damaged_one_is_an_error() {
        let mut parses = 0;
        let first = read(
            &Answer::sent(Endpoint::Report, TEXT, false),
            None,
            &mut parses,
        )
        .unwrap();
        let changed = read(
            &Answer::sent(Endpoint::Report, b"order_id,status\n1,expired\n", false),
            Some(&first),
            &mut parses,
        )
        .unwrap();
        assert!(!changed.shares_parse(&first));
        assert_eq!(&changed.parsed[..], b"order_id,status\n1,expired\n");
        let damaged = read(
            &Answer::sent(Endpoint::Report, b"\x1f\x8b junk", true),
            Some(&first),
            &mut parses,
        );
        assert!(damaged.is_err());
        assert_eq!(parses, 2);
    }
}
