//! Writing the Prometheus text exposition format (version 0.0.4): metric
//! families with HELP and TYPE, samples with escaped label values.

use std::fmt::Write;

use super::gzip::{GzipPrefix, PrefixWriter};

/// The TYPE of a rendered metric family: the renderer writes gauges only
/// (counters that move between renders live in the `prometheus` registry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A value that goes up and down: a count, a time, a flag.
    Gauge,
}

impl Kind {
    /// The word on the family's TYPE line.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
        }
    }
}

/// A metric family as declared once (see [`super::families`]): what its
/// HELP and TYPE lines say, and the names of the labels its samples may
/// carry, so that the catalogue can be checked against it.
#[derive(Debug)]
pub struct Family {
    /// The metric name, on the HELP and TYPE lines and every sample.
    pub name: &'static str,
    /// Its TYPE.
    pub kind: Kind,
    /// Its HELP text, unescaped.
    pub help: &'static str,
    /// Every label a sample may carry, `account` included.
    pub labels: &'static [&'static str],
}

/// Writes families and samples, deflating as it goes (see
/// [`super::gzip`]). Each family is written once, with all its samples, as
/// the format requires: samples are written through the [`Samples`] that
/// starting a family returns.
pub(crate) struct TextWriter {
    out: String,
    sink: PrefixWriter,
}

/// Text buffered before it is handed to the compressor.
const CHUNK: usize = 256 * 1024;

impl TextWriter {
    /// A writer that reuses the deflated pieces of `previous` (the render
    /// before) whose text comes out the same.
    pub(crate) fn new(previous: Option<&GzipPrefix>) -> TextWriter {
        TextWriter {
            out: String::new(),
            sink: PrefixWriter::new(previous),
        }
    }

    fn spill(&mut self) {
        if self.out.len() >= CHUNK {
            self.sink.write(self.out.as_bytes());
            self.out.clear();
        }
    }

    /// Starts a family: its HELP and TYPE lines; its samples follow through
    /// the returned [`Samples`]. A family starts a new piece, so that a
    /// family that changed (poll times, say) does not shift the pieces of
    /// the families after it.
    pub(crate) fn family(&mut self, family: &'static Family) -> Samples<'_> {
        self.sink.write(self.out.as_bytes());
        self.out.clear();
        let name = family.name;
        self.out.push_str("# HELP ");
        self.out.push_str(name);
        self.out.push(' ');
        for c in family.help.chars() {
            match c {
                '\\' => self.out.push_str("\\\\"),
                '\n' => self.out.push_str("\\n"),
                c => self.out.push(c),
            }
        }
        self.out.push_str("\n# TYPE ");
        self.out.push_str(name);
        self.out.push(' ');
        self.out.push_str(family.kind.as_str());
        self.out.push('\n');
        Samples { writer: self, name }
    }

    /// The whole text, deflated.
    pub(crate) fn finish(mut self) -> GzipPrefix {
        self.sink.write(self.out.as_bytes());
        self.sink.finish()
    }
}

/// The samples of the family just started (see [`TextWriter::family`]):
/// the only way to write a sample, so that a family's samples follow its
/// HELP and TYPE lines and carry its name.
pub(crate) struct Samples<'w> {
    writer: &'w mut TextWriter,
    name: &'static str,
}

impl Samples<'_> {
    /// One sample; `labels` is a block made by [`LabelBlock`] (or empty).
    pub(crate) fn sample(&mut self, labels: &str, value: f64) {
        let out = &mut self.writer.out;
        out.push_str(self.name);
        out.push_str(labels);
        out.push(' ');
        push_value(out, value);
        out.push('\n');
        self.writer.spill();
    }
}

fn push_value(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        let _ = write!(out, "{}", value as i64);
    } else {
        let _ = write!(out, "{value}");
    }
}

/// A `{name="value",...}` label block, escaped once and reused for every
/// sample that carries the same labels.
#[derive(Default)]
pub(crate) struct LabelBlock {
    text: String,
}

impl LabelBlock {
    /// An empty block, for labels to be added to.
    pub(crate) fn new() -> LabelBlock {
        LabelBlock::default()
    }

    /// Adds a label; the value is escaped (backslash, double quote, newline).
    pub(crate) fn with(mut self, name: &str, value: &str) -> LabelBlock {
        self.push(name, value);
        self
    }

    /// Adds a label in place (see [`LabelBlock::with`]).
    pub(crate) fn push(&mut self, name: &str, value: &str) {
        self.text.push(if self.text.is_empty() { '{' } else { ',' });
        self.text.push_str(name);
        self.text.push_str("=\"");
        // Runs without anything to escape (most values have none) are
        // copied whole: every order's label block is built at each render.
        let mut rest = value;
        while let Some(at) = memchr::memchr3(b'\\', b'"', b'\n', rest.as_bytes()) {
            self.text.push_str(&rest[..at]);
            self.text.push_str(match rest.as_bytes()[at] {
                b'\\' => "\\\\",
                b'"' => "\\\"",
                _ => "\\n",
            });
            rest = &rest[at + 1..];
        }
        self.text.push_str(rest);
        self.text.push('"');
    }

    /// The finished block, `{...}`, or empty without labels.
    pub(crate) fn finish(mut self) -> String {
        if !self.text.is_empty() {
            self.text.push('}');
        }
        self.text
    }

    /// A block that goes on from a finished one (`base`, left as is), for
    /// more labels after its own.
    pub(crate) fn continuing(base: &str) -> LabelBlock {
        LabelBlock {
            text: base.strip_suffix('}').unwrap_or(base).to_owned(),
        }
    }

    /// The block with one more label added at the end, leaving `base` as is.
    pub(crate) fn extend(base: &str, name: &str, value: &str) -> String {
        let mut block = LabelBlock::continuing(base);
        block.push(name, value);
        block.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_label_values() {
        let block = LabelBlock::new()
            .with("a", "x\"y\\z\nw")
            .with("b", "Müller, \"Nord\" GmbH")
            .finish();
        assert_eq!(block, r#"{a="x\"y\\z\nw",b="Müller, \"Nord\" GmbH"}"#);
    }

    proptest::proptest! {
        #[test]
        fn escapes_any_value_as_the_format_says(value in ".*") {
            let mut expected = String::from("{v=\"");
            for c in value.chars() {
                match c {
                    '\\' => expected.push_str("\\\\"),
                    '"' => expected.push_str("\\\""),
                    '\n' => expected.push_str("\\n"),
                    c => expected.push(c),
                }
            }
            expected.push_str("\"}");
            proptest::prop_assert_eq!(LabelBlock::new().with("v", &value).finish(), expected);
        }
    }

    #[test]
    fn extends_a_block() {
        let base = LabelBlock::new().with("a", "1").finish();
        assert_eq!(
            LabelBlock::extend(&base, "rule", "x"),
            r#"{a="1",rule="x"}"#
        );
        assert_eq!(LabelBlock::extend("", "rule", "x"), r#"{rule="x"}"#);
    }

    #[test]
    fn writes_values_as_prometheus_reads_them() {
        const M: Family = Family {
            name: "m",
            kind: Kind::Gauge,
            help: "help \\ with\nnewline",
            labels: &[],
        };
        let mut w = TextWriter::new(None);
        let mut m = w.family(&M);
        for value in [3.0, -2.0, 0.25, f64::NAN, f64::INFINITY] {
            m.sample("", value);
        }
        assert_eq!(
            String::from_utf8(w.finish().text()).unwrap(),
            "# HELP m help \\\\ with\\nnewline\n# TYPE m gauge\nm 3\nm -2\nm 0.25\nm NaN\nm +Inf\n"
        );
    }
}
