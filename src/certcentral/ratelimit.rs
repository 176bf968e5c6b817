//! A client-side limiter that keeps one API key under CertCentral's rolling
//! request windows (1,000 per 3 minutes and 100 per 5 seconds, by default
//! with 10% headroom), so that a large account is read without a single 429.
//!
//! The windows are rolling, so a token bucket is not enough: a bucket that
//! refills while it is being drained lets through more than the window's
//! count within one window. This keeps the send times of the last requests
//! (at most the largest window's count) and lets a request through only
//! when every window has room.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// At most `limit` requests in any `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub limit: usize,
    pub period: Duration,
}

/// CertCentral's documented windows, per API key.
pub const CERTCENTRAL_WINDOWS: [Window; 2] = [
    Window {
        limit: 1000,
        period: Duration::from_secs(180),
    },
    Window {
        limit: 100,
        period: Duration::from_secs(5),
    },
];

/// The share of each window the exporter allows itself, leaving room for
/// other users of the same key and for clock differences.
pub const DEFAULT_HEADROOM: f64 = 0.9;

/// Shared by every request made with one key.
pub struct RateLimiter {
    windows: Vec<Window>,
    state: Mutex<State>,
}

struct State {
    sent: VecDeque<Instant>,
    /// After a 429: nothing is sent before this.
    blocked_until: Option<Instant>,
}

impl RateLimiter {
    /// A limiter for these windows, each scaled down by `headroom` (0..=1);
    /// a window that scales to nothing still allows one request.
    pub fn new(windows: &[Window], headroom: f64) -> RateLimiter {
        let windows: Vec<Window> = windows
            .iter()
            .map(|w| Window {
                limit: ((w.limit as f64 * headroom).floor() as usize).max(1),
                period: w.period,
            })
            .collect();
        let capacity = windows.iter().map(|w| w.limit).max().unwrap_or(1);
        RateLimiter {
            windows,
            state: Mutex::new(State {
                sent: VecDeque::with_capacity(capacity),
                blocked_until: None,
            }),
        }
    }

    /// The windows in force (after headroom).
    pub fn windows(&self) -> &[Window] {
        &self.windows
    }

    /// Waits until a request may be sent, records it as sent, and returns
    /// how long it waited. Callers are served one at a time, in order.
    pub async fn acquire(&self) -> Duration {
        let started = Instant::now();
        let mut state = self.state.lock().await;
        loop {
            let now = Instant::now();
            match state.next_slot(&self.windows, now) {
                None => {
                    state.sent.push_back(now);
                    let keep = self.windows.iter().map(|w| w.limit).max().unwrap_or(1);
                    while state.sent.len() > keep {
                        state.sent.pop_front();
                    }
                    return started.elapsed();
                }
                Some(at) => tokio::time::sleep_until(at).await,
            }
        }
    }

    /// CertCentral said 429: send nothing more until `until`, or, when it
    /// did not say, until the short window has passed since the last send.
    pub async fn back_off(&self, until: Option<Instant>) {
        let mut state = self.state.lock().await;
        let shortest = self
            .windows
            .iter()
            .map(|w| w.period)
            .min()
            .unwrap_or_default();
        let until = until
            .unwrap_or_else(|| state.sent.back().copied().unwrap_or_else(Instant::now) + shortest);
        state.blocked_until = Some(state.blocked_until.map_or(until, |b| b.max(until)));
    }
}

impl State {
    /// `None` when a request may go now, else the earliest time it may.
    fn next_slot(&self, windows: &[Window], now: Instant) -> Option<Instant> {
        let mut at = self.blocked_until.filter(|&b| b > now);
        for window in windows {
            let in_window = self
                .sent
                .iter()
                .rev()
                .take_while(|&&t| now.duration_since(t) < window.period)
                .count();
            if in_window >= window.limit {
                // The oldest of the last `limit` sends must leave the window.
                let oldest = self.sent[self.sent.len() - window.limit];
                let free = oldest + window.period;
                at = Some(at.map_or(free, |a| a.max(free)));
            }
        }
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn windows(short: usize, long: usize) -> [Window; 2] {
        [
            Window {
                limit: long,
                period: Duration::from_secs(60),
            },
            Window {
                limit: short,
                period: Duration::from_secs(5),
            },
        ]
    }

    /// Every `period` span of `times` holds at most `limit` sends.
    fn assert_within(times: &[Instant], window: Window) {
        for (i, &start) in times.iter().enumerate() {
            let inside = times[i..]
                .iter()
                .take_while(|&&t| t.duration_since(start) < window.period)
                .count();
            assert!(
                inside <= window.limit,
                "{inside} sends within {:?}",
                window.period
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn keeps_every_rolling_window() {
        let limiter = RateLimiter::new(&windows(10, 25), 1.0);
        let mut times = Vec::new();
        for _ in 0..60 {
            limiter.acquire().await;
            times.push(Instant::now());
        }
        for w in limiter.windows() {
            assert_within(&times, *w);
        }
        // 60 sends at 25 a minute need more than two minutes.
        assert!(times[59].duration_since(times[0]) >= Duration::from_secs(120));
        // The short window allows a burst of 10 at once.
        assert_eq!(times[9], times[0]);
        assert!(times[10] >= times[0] + Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn headroom_scales_the_windows() {
        let limiter = RateLimiter::new(&CERTCENTRAL_WINDOWS, DEFAULT_HEADROOM);
        let limits: Vec<usize> = limiter.windows().iter().map(|w| w.limit).collect();
        assert_eq!(limits, [900, 90]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_blocks_until_told_or_for_the_short_window() {
        let limiter = RateLimiter::new(&windows(100, 100), 1.0);
        limiter.acquire().await;
        let sent = Instant::now();
        limiter.back_off(None).await;
        let waited = limiter.acquire().await;
        assert!(
            Instant::now() >= sent + Duration::from_secs(5),
            "waited {waited:?}"
        );
        let until = Instant::now() + Duration::from_secs(30);
        limiter.back_off(Some(until)).await;
        limiter.acquire().await;
        assert!(Instant::now() >= until);
    }
}
