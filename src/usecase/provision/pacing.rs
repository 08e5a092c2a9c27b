//! Microsoft's limit for provision on demand, "5 requests per 10 seconds", kept by the function
//! itself: a sliding window per job, held by the execution environment so back-to-back
//! invocations share it. Another environment can still collide; its 429 waits for Retry-After
//! in the transport.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const CALLS_PER_WINDOW: usize = 5;
pub const WINDOW: Duration = Duration::from_secs(10);
/// What one call is assumed to take when judging whether a batch fits before the deadline.
/// Microsoft says a call "typically takes less than 30 seconds"; most take a second or two.
const CALL_ESTIMATE: Duration = Duration::from_secs(2);

pub struct Pacer {
    limit: usize,
    window: Duration,
    /// Per job: when its recent calls were (or are booked to be) sent, oldest first.
    sent: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Default for Pacer {
    fn default() -> Self {
        Self::new(CALLS_PER_WINDOW, WINDOW)
    }
}

impl Pacer {
    pub fn new(limit: usize, window: Duration) -> Self {
        Self {
            limit: limit.max(1),
            window,
            sent: Mutex::new(HashMap::new()),
        }
    }

    /// Waits until a call to `job_id` keeps within the limit, and books it; give the booking
    /// to [`finished`](Self::finished) once the call is answered.
    pub async fn turn(&self, job_id: &str) -> Instant {
        let at = self.book(job_id, Instant::now());
        tokio::time::sleep_until(at.into()).await;
        at
    }

    /// Moves a call's booking to when its answer came: Graph counted the call somewhere in
    /// between, so the window is measured from the latest moment it can have started.
    pub fn finished(&self, job_id: &str, booked: Instant) {
        self.moved(job_id, booked, Instant::now());
    }

    fn moved(&self, job_id: &str, booked: Instant, to: Instant) {
        let Ok(mut sent) = self.sent.lock() else {
            return;
        };
        if let Some(times) = sent.get_mut(job_id)
            && let Some(slot) = times.iter_mut().find(|at| **at == booked)
        {
            *slot = to.max(booked);
            times.make_contiguous().sort();
        }
    }

    /// Books the earliest slot at or after `now` and returns it. The booking happens under the
    /// lock, before any sleep, so concurrent callers never take the same slot.
    fn book(&self, job_id: &str, now: Instant) -> Instant {
        let Ok(mut sent) = self.sent.lock() else {
            return now + self.window; // a poisoned lock: be slow rather than over the limit
        };
        let times = sent.entry(job_id.to_string()).or_default();
        while times
            .front()
            .is_some_and(|first| now.saturating_duration_since(*first) >= self.window)
        {
            times.pop_front();
        }
        let at = if times.len() < self.limit {
            now
        } else {
            // The slot frees when the call `limit` places back leaves the window.
            (times[times.len() - self.limit] + self.window).max(now)
        };
        times.push_back(at);
        at
    }

    /// How long `calls` more calls to `job_id` would take from now, pacing included.
    pub fn estimate(&self, job_id: &str, calls: usize) -> Duration {
        if calls == 0 {
            return Duration::ZERO;
        }
        let now = Instant::now();
        let recent = self
            .sent
            .lock()
            .map(|sent| {
                sent.get(job_id).map_or(0, |times| {
                    times
                        .iter()
                        .filter(|at| now.saturating_duration_since(**at) < self.window)
                        .count()
                })
            })
            .unwrap_or(0);
        let windows_to_wait = (recent + calls - 1) / self.limit;
        self.window * windows_to_wait as u32 + CALL_ESTIMATE * calls as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_calls_go_at_once_and_the_sixth_waits_for_the_window() {
        let pacer = Pacer::default();
        let now = Instant::now();
        let slots: Vec<Duration> = (0..11).map(|_| pacer.book("job", now) - now).collect();
        assert!(slots[..5].iter().all(|at| at.is_zero()), "{slots:?}");
        assert!(slots[5..10].iter().all(|at| *at == WINDOW), "{slots:?}");
        assert_eq!(slots[10], WINDOW * 2);
    }

    #[test]
    fn no_window_ever_holds_more_than_five_calls() {
        let pacer = Pacer::default();
        let start = Instant::now();
        let mut slots = Vec::new();
        for step in 0..40u64 {
            // callers arriving every 700 ms
            slots.push(pacer.book("job", start + Duration::from_millis(700 * step)));
        }
        for (i, first) in slots.iter().enumerate() {
            let within = slots[i..]
                .iter()
                .filter(|at| at.saturating_duration_since(*first) < WINDOW)
                .count();
            assert!(
                within <= CALLS_PER_WINDOW,
                "slot {i}: {within} calls in one window"
            );
        }
    }

    #[test]
    fn the_window_counts_from_when_a_slow_call_was_answered() {
        let pacer = Pacer::default();
        let now = Instant::now();
        let first = pacer.book("job", now);
        for _ in 0..4 {
            pacer.book("job", now);
        }
        pacer.moved("job", first, now + Duration::from_secs(3));
        let next: Vec<Duration> = (0..5).map(|_| pacer.book("job", now) - now).collect();
        // The slow call's slot frees only a window after its answer came.
        assert_eq!(
            next,
            [
                WINDOW,
                WINDOW,
                WINDOW,
                WINDOW,
                WINDOW + Duration::from_secs(3)
            ]
        );
    }

    #[test]
    fn jobs_are_paced_separately() {
        let pacer = Pacer::default();
        let now = Instant::now();
        for _ in 0..5 {
            pacer.book("a", now);
        }
        assert_eq!(pacer.book("b", now), now);
        assert_eq!(pacer.book("a", now), now + WINDOW);
    }

    #[test]
    fn estimate_counts_the_windows_to_wait() {
        let pacer = Pacer::default();
        assert_eq!(pacer.estimate("job", 0), Duration::ZERO);
        assert_eq!(pacer.estimate("job", 5), CALL_ESTIMATE * 5);
        assert_eq!(pacer.estimate("job", 6), WINDOW + CALL_ESTIMATE * 6);
        assert_eq!(pacer.estimate("job", 15), WINDOW * 2 + CALL_ESTIMATE * 15);
    }
}
