//! Per-caller request rate limits: a token bucket for each API token and each browser session's
//! user, refilled continuously. Kept in this process's memory, so with several nodes each node
//! allows the configured rate (put the limit a little lower, or rate-limit at the proxy).
//! Only authenticated callers get a bucket, so the table is bounded by the tokens and users
//! that exist; anonymous routes are limited elsewhere (sign-in by its throttle).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Requests per minute, for full-scope and ingest-scope callers; 0 turns a limit off.
#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    pub per_minute: u32,
    pub ingest_per_minute: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            per_minute: 1200,
            ingest_per_minute: 6000,
        }
    }
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

#[derive(Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// Takes one request from `key`'s bucket of `per_minute` (a burst of a sixth of a minute's
    /// worth, at least 10). `Err(seconds)` says when the next request may come.
    pub fn check(&self, key: &str, per_minute: u32, now: Instant) -> Result<(), u64> {
        if per_minute == 0 {
            return Ok(());
        }
        let rate = f64::from(per_minute) / 60.0;
        let burst = (f64::from(per_minute) / 6.0).max(10.0);
        let mut map = self.buckets.lock().expect("rate limiter");
        let b = map.entry(key.to_owned()).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate).min(burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - b.tokens) / rate).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_then_the_steady_rate() {
        let l = RateLimiter::default();
        let t0 = Instant::now();
        // 60 a minute: a burst of 10, then one a second.
        for _ in 0..10 {
            assert!(l.check("k", 60, t0).is_ok());
        }
        assert_eq!(l.check("k", 60, t0), Err(1));
        assert!(l.check("other", 60, t0).is_ok(), "buckets are per caller");
        assert!(l.check("k", 60, t0 + Duration::from_millis(1100)).is_ok());
        assert!(l.check("k", 60, t0 + Duration::from_millis(1200)).is_err());
        assert!(l.check("k", 0, t0).is_ok(), "0 is no limit");
    }
}
