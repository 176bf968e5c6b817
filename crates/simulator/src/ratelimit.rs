//! CertCentral's rate limit as the server enforces it: per API key, every
//! rolling window must have room, or the answer is HTTP 429.

use std::collections::{HashMap, VecDeque};
use std::str::FromStr;
use std::time::{Duration, Instant};

/// At most `limit` requests of one key in any rolling `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Requests admitted per period.
    pub limit: usize,
    /// The rolling period.
    pub period: Duration,
}

/// CertCentral's documented windows, per API key: 1000 requests per 3
/// minutes and 100 per 5 seconds.
pub(crate) const CERTCENTRAL_WINDOWS: [Window; 2] = [
    Window::of(1000, Duration::from_secs(180)),
    Window::of(100, Duration::from_secs(5)),
];

impl Window {
    /// `limit` requests per `period`.
    pub(crate) const fn of(limit: usize, period: Duration) -> Window {
        Window { limit, period }
    }
}

/// One window written `REQUESTS/PERIOD` (`100/5s`).
impl FromStr for Window {
    type Err = String;

    fn from_str(text: &str) -> Result<Window, String> {
        let bad = |why: &str| format!("'{text}' is not REQUESTS/PERIOD like 1000/3m: {why}");
        let (limit, period) = text.trim().split_once('/').ok_or_else(|| bad("no '/'"))?;
        match (
            limit.trim().parse::<usize>(),
            humantime::parse_duration(period.trim()),
        ) {
            (Ok(limit), Ok(period)) if limit > 0 && !period.is_zero() => {
                Ok(Window::of(limit, period))
            }
            (Ok(limit), _) if limit > 0 => Err(bad("the period is not like 3m or 5s")),
            _ => Err(bad("the request count is not a positive number")),
        }
    }
}

/// The windows of `--rate-limit`, comma-separated (`1000/3m,100/5s`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimit(pub Vec<Window>);

impl FromStr for RateLimit {
    type Err = String;

    fn from_str(text: &str) -> Result<RateLimit, String> {
        text.split(',')
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map(RateLimit)
    }
}

/// The windows, and the times of each key's admitted requests.
#[derive(Debug)]
pub(crate) struct ServerLimits {
    windows: Vec<Window>,
    /// By a digest of the key, so that no key is kept in clear.
    sent: HashMap<u64, VecDeque<Instant>>,
}

impl ServerLimits {
    /// Limits of `windows`, per key; none when empty.
    pub(crate) fn new(windows: Vec<Window>) -> ServerLimits {
        ServerLimits {
            windows,
            sent: HashMap::new(),
        }
    }

    /// Counts a request of `key` and says whether it is within the limits;
    /// a refused request does not count.
    pub(crate) fn admit(&mut self, key: &str, now: Instant) -> bool {
        let longest = self
            .windows
            .iter()
            .map(|w| w.period)
            .max()
            .unwrap_or(Duration::ZERO);
        if self.sent.len() > 10_000 {
            // Forget keys whose requests have all left the windows.
            self.sent.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|&t| now.duration_since(t) < longest)
            });
        }
        let digest = {
            use std::hash::{Hash, Hasher};
            let mut hasher = std::hash::DefaultHasher::new();
            key.hash(&mut hasher);
            hasher.finish()
        };
        let sent = self.sent.entry(digest).or_default();
        while sent
            .front()
            .is_some_and(|&t| now.duration_since(t) >= longest)
        {
            sent.pop_front();
        }
        let full = self.windows.iter().any(|w| {
            sent.iter()
                .rev()
                .take_while(|&&t| now.duration_since(t) < w.period)
                .count()
                >= w.limit
        });
        if !full {
            sent.push_back(now);
        }
        !full
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_past_either_window() {
        let windows = vec![
            Window::of(5, Duration::from_secs(60)),
            Window::of(2, Duration::from_secs(1)),
        ];
        let mut limits = ServerLimits::new(windows);
        let t0 = Instant::now();
        assert!(limits.admit("k", t0));
        assert!(limits.admit("k", t0));
        assert!(!limits.admit("k", t0), "short window full");
        assert!(limits.admit("other", t0), "per key");
        let t1 = t0 + Duration::from_secs(1);
        assert!(limits.admit("k", t1));
        assert!(limits.admit("k", t1));
        let t2 = t0 + Duration::from_secs(2);
        assert!(limits.admit("k", t2));
        assert!(
            !limits.admit("k", t2 + Duration::from_millis(500)),
            "long window full (5 in a minute)"
        );
        assert!(limits.admit("k", t0 + Duration::from_secs(60)));
    }

    #[test]
    fn rate_limits_parse_as_the_flag_writes_them() {
        let parsed: RateLimit = "1000/3m, 100/5s".parse().unwrap();
        assert_eq!(parsed, RateLimit(CERTCENTRAL_WINDOWS.to_vec()));
        for bad in ["", "1000", "0/3m", "x/3m", "10/0s", "10/soon", "1000/3m,"] {
            let err = bad.parse::<RateLimit>().unwrap_err();
            assert!(err.contains("is not REQUESTS/PERIOD"), "{bad}: {err}");
        }
    }
}
