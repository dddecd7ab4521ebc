//! Time comes from an injected clock, never from the database or `Utc::now()` in business code,
//! so tests can move time forward (lease expiry, rate-limit windows, renewals).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to. Clones share the same time.
#[derive(Debug, Clone)]
pub struct FakeClock {
    millis: Arc<AtomicI64>,
}

impl FakeClock {
    pub fn at(t: DateTime<Utc>) -> Self {
        FakeClock {
            millis: Arc::new(AtomicI64::new(t.timestamp_millis())),
        }
    }

    pub fn advance(&self, d: Duration) {
        self.millis
            .fetch_add(d.num_milliseconds(), Ordering::SeqCst);
    }

    pub fn set(&self, t: DateTime<Utc>) {
        self.millis.store(t.timestamp_millis(), Ordering::SeqCst);
    }
}

impl Clock for FakeClock {
    fn now(&self) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(self.millis.load(Ordering::SeqCst))
            .single()
            .expect("fake clock holds a valid time")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fake_clock_moves_only_when_told_and_clones_share_time() {
        let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let a = FakeClock::at(start);
        let b = a.clone();
        assert_eq!(a.now(), start);
        b.advance(Duration::minutes(5));
        assert_eq!(a.now(), start + Duration::minutes(5));
    }
}
