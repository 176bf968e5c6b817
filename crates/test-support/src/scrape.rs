//! A scrape of `/metrics`, parsed with a Prometheus text parser.

use std::collections::BTreeMap;

/// A parsed scrape: the text as served and its samples.
pub struct Scrape {
    /// The exposition as served.
    pub text: String,
    /// Its samples, in order.
    pub samples: Vec<prometheus_parse::Sample>,
}

/// One counter, gauge or untyped sample with its labels in order, for
/// tests that key maps by label sets.
pub struct Series {
    /// The metric's name.
    pub name: String,
    /// Its labels, by name.
    pub labels: BTreeMap<String, String>,
    /// Its value.
    pub value: f64,
}

impl Scrape {
    /// Parses `text`; panics if it is not a valid exposition.
    pub fn parse(text: &str) -> Scrape {
        let lines = text.lines().map(|l| Ok(l.to_owned()));
        let parsed = prometheus_parse::Scrape::parse(lines).expect("valid exposition");
        Scrape {
            text: text.to_owned(),
            samples: parsed.samples,
        }
    }

    /// Values of `metric`, keyed by the given label.
    pub fn by_label(&self, metric: &str, label: &str) -> BTreeMap<String, f64> {
        self.samples
            .iter()
            .filter(|s| s.metric == metric)
            .filter_map(|s| Some((s.labels.get(label)?.to_owned(), value(&s.value))))
            .collect()
    }

    /// The value of the first series of `metric` whose labels include all
    /// of `labels`.
    pub fn value(&self, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.samples
            .iter()
            .find(|s| s.metric == metric && has_labels(s, labels))
            .map(|s| value(&s.value))
    }

    /// The sum of `metric` over every series whose labels include `labels`
    /// (0 when there is none: a counter that does not exist yet).
    pub fn sum(&self, metric: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|s| s.metric == metric && has_labels(s, labels))
            .map(|s| value(&s.value))
            .sum()
    }

    /// Whether any series of `metric` is served.
    pub fn has(&self, metric: &str) -> bool {
        self.samples.iter().any(|s| s.metric == metric)
    }

    /// Every counter, gauge and untyped sample (histograms and summaries
    /// left out), labels ordered.
    pub fn series(&self) -> Vec<Series> {
        use prometheus_parse::Value::{Counter, Gauge, Untyped};
        self.samples
            .iter()
            .filter_map(|s| {
                let (Counter(value) | Gauge(value) | Untyped(value)) = s.value else {
                    return None;
                };
                let labels = s.labels.iter().map(|(k, v)| (k.clone(), v.clone()));
                Some(Series {
                    name: s.metric.clone(),
                    labels: labels.collect(),
                    value,
                })
            })
            .collect()
    }
}

fn has_labels(sample: &prometheus_parse::Sample, labels: &[(&str, &str)]) -> bool {
    labels.iter().all(|(k, v)| sample.labels.get(k) == Some(*v))
}

/// The number of a counter, gauge or untyped sample; NaN for the others.
pub fn value(v: &prometheus_parse::Value) -> f64 {
    match v {
        prometheus_parse::Value::Counter(x)
        | prometheus_parse::Value::Gauge(x)
        | prometheus_parse::Value::Untyped(x) => *x,
        _ => f64::NAN,
    }
}
