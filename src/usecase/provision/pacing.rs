//! Microsoft's limit for provision on demand, "5 requests per 10 seconds", kept by the function
//! itself: a sliding window per job, held by the execution environment so back-to-back
//! invocations share it. Another environment can still collide; its 429 waits for Retry-After
//! in the transport.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const CALLS_PER_WINDOW: usize = 5;
pub const WINDOW: Duration = Duration::from_secs(10);
/// What one call is assumed to take, until this environment has timed some, when judging
/// whether a batch fits before the deadline. Microsoft says a call "typically takes less than
/// 30 seconds"; most take a second or two.
const CALL_ESTIMATE: Duration = Duration::from_secs(2);
/// How many recent call durations the estimate averages.
const TIMED_CALLS: usize = 10;

pub struct Pacer {
    limit: usize,
    window: Duration,
    /// Per job: when its recent calls were (or are booked to be) sent, oldest first.
    sent: Mutex<HashMap<String, VecDeque<Instant>>>,
    /// How long the latest calls took, booking to answer.
    durations: Mutex<VecDeque<Duration>>,
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
            durations: Mutex::new(VecDeque::new()),
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
        let now = Instant::now();
        self.moved(job_id, booked, now);
        if let Ok(mut durations) = self.durations.lock() {
            durations.push_back(now.saturating_duration_since(booked));
            if durations.len() > TIMED_CALLS {
                durations.pop_front();
            }
        }
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
        let at = self.next_slot(times, now);
        times.push_back(at);
        at
    }

    /// The earliest moment at or after `now` a call keeps within the limit, given the calls
    /// in `times` (sorted); calls that left the window are dropped.
    fn next_slot(&self, times: &mut VecDeque<Instant>, now: Instant) -> Instant {
        while times
            .front()
            .is_some_and(|first| now.saturating_duration_since(*first) >= self.window)
        {
            times.pop_front();
        }
        if times.len() < self.limit {
            return now;
        }
        // The slot frees when the call `limit` places back leaves the window.
        (times[times.len() - self.limit] + self.window).max(now)
    }

    /// How long `calls` more calls to `job_id` would take from now, one after the other,
    /// pacing included, each taking as long as the latest calls took on average.
    pub fn estimate(&self, job_id: &str, calls: usize) -> Duration {
        let start = Instant::now();
        let mut times = self
            .sent
            .lock()
            .ok()
            .and_then(|sent| sent.get(job_id).cloned())
            .unwrap_or_default();
        let took = self.typical_call();
        let mut now = start;
        for _ in 0..calls {
            let at = self.next_slot(&mut times, now);
            now = at + took;
            times.push_back(now);
        }
        now.saturating_duration_since(start)
    }

    fn typical_call(&self) -> Duration {
        let Ok(durations) = self.durations.lock() else {
            return CALL_ESTIMATE;
        };
        match durations.len() {
            0 => CALL_ESTIMATE,
            n => durations.iter().sum::<Duration>() / n as u32,
        }
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
    fn estimate_plays_the_calls_through_the_window() {
        let pacer = Pacer::default();
        let close = |estimate: Duration, expected: Duration| {
            let gap = estimate.abs_diff(expected);
            assert!(
                gap < Duration::from_millis(50),
                "{estimate:?} vs {expected:?}"
            );
        };
        close(pacer.estimate("job", 0), Duration::ZERO);
        // 2 s each: five end at 10 s; the sixth may start 10 s after the first ended (12 s).
        close(pacer.estimate("job", 5), Duration::from_secs(10));
        close(pacer.estimate("job", 6), Duration::from_secs(14));
        close(pacer.estimate("job", 15), Duration::from_secs(34));
        // Fast calls (as measured): the windows are all that is left.
        for _ in 0..TIMED_CALLS {
            let booked = pacer.book("other", Instant::now());
            pacer.finished("other", booked);
        }
        let fast = pacer.estimate("job", 15);
        assert!(
            fast >= WINDOW * 2 && fast < WINDOW * 2 + Duration::from_secs(1),
            "{fast:?}"
        );
    }
}
