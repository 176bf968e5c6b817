//! CertCentral's rate limit as the server enforces it: per API key, every
//! rolling window must have room, or the answer is HTTP 429.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::certcentral::ratelimit::Window;

/// The windows, and the times of each key's admitted requests.
#[derive(Debug)]
pub struct ServerLimits {
    windows: Vec<Window>,
    /// By a digest of the key, so that no key is kept in clear.
    sent: HashMap<u64, VecDeque<Instant>>,
}

impl ServerLimits {
    /// Limits of `windows`, per key; none when empty.
    pub fn new(windows: Vec<Window>) -> ServerLimits {
        ServerLimits {
            windows,
            sent: HashMap::new(),
        }
    }

    /// Counts a request of `key` and says whether it is within the limits;
    /// a refused request does not count.
    pub fn admit(&mut self, key: &str, now: Instant) -> bool {
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
            Window {
                limit: 5,
                period: Duration::from_secs(60),
            },
            Window {
                limit: 2,
                period: Duration::from_secs(1),
            },
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
}
