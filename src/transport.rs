//! The one HTTP stack for Entra and Graph: timeouts, bounded retries with backoff and jitter,
//! `Retry-After`, no redirects, and never past the invocation's deadline.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::{RequestBuilder, Response, StatusCode};
use thiserror::Error;
use tracing::{info, warn};

use crate::proxy::{ProxyError, ProxyRule};

const USER_AGENT: &str = concat!("entra-idc-sync/", env!("CARGO_PKG_VERSION"));
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time kept back from Lambda's deadline so the invocation ends with our error, not a kill.
const DEADLINE_MARGIN: Duration = Duration::from_millis(1500);
const EPOCH_2020_MS: u64 = 1_577_836_800_000;
const MAX_LAMBDA_TIMEOUT: Duration = Duration::from_secs(900);
/// The largest answer read into memory. Graph pages and token answers are kilobytes; a
/// bigger body is refused before it can exhaust a 128 MB function.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// The invocation's time window: when it began, and by when it must have answered.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    started: Instant,
    at: Instant,
}

impl Deadline {
    /// From Lambda's deadline (epoch milliseconds), keeping a safety margin.
    pub fn from_lambda_deadline_ms(epoch_ms: u64) -> Self {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|now| now.as_millis() as u64)
            .unwrap_or(0);
        // `cargo lambda watch` sends the time left (e.g. 600000), not an epoch time; no real
        // deadline lies before 2020, so such a value is read as what it is.
        let left = if epoch_ms == 0 {
            MAX_LAMBDA_TIMEOUT // no deadline given (some local emulators): Lambda's longest
        } else if epoch_ms < EPOCH_2020_MS {
            Duration::from_millis(epoch_ms).min(MAX_LAMBDA_TIMEOUT)
        } else {
            Duration::from_millis(epoch_ms.saturating_sub(now_ms))
        };
        Self::after(left.saturating_sub(DEADLINE_MARGIN))
    }

    pub fn after(duration: Duration) -> Self {
        let started = Instant::now();
        Self {
            started,
            at: started + duration,
        }
    }

    pub fn started(&self) -> Instant {
        self.started
    }

    /// Time left, `None` once it has passed.
    pub fn remaining(&self) -> Option<Duration> {
        self.at
            .checked_duration_since(Instant::now())
            .filter(|left| !left.is_zero())
    }

    pub fn instant(&self) -> Instant {
        self.at
    }
}

#[derive(Debug, Error)]
pub enum TransportError {
    #[error("no answer within {0:?} (request timeout)")]
    Timeout(Duration),
    #[error("could not connect ({0})")]
    Connect(String),
    #[error("the connection failed ({0})")]
    Connection(String),
    #[error("the invocation's deadline was reached")]
    DeadlineReached,
    #[error("the answer is larger than {limit} bytes, more than any valid answer; not reading it")]
    TooLarge { limit: usize },
}

/// Why the HTTP client could not be built.
#[derive(Debug, Error)]
pub enum ClientBuildError {
    #[error(transparent)]
    Proxy(#[from] ProxyError),
    #[error("the TLS stack failed to start: {0}")]
    Tls(#[from] reqwest::Error),
}

/// Bounded exponential backoff with jitter.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// The pause before attempt `attempt + 1`: exponential, jittered into [50%, 100%], never
    /// shorter than what the server asked for.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let exponential = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
            .min(self.max_delay);
        let jittered = exponential.mul_f64(0.5 + fastrand::f64() * 0.5);
        retry_after.map_or(jittered, |asked| asked.max(jittered))
    }
}

/// Whether a request may be sent again after a failure that happened once it was on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Reads and token requests: safe to repeat.
    Safe,
    /// Triggers: repeat only when the server says it did not act (429/503) or the
    /// connection was never made.
    Unsafe,
}

/// One sent request's final answer, with the correlation id we generated for it.
#[derive(Debug)]
pub struct Sent {
    pub response: Response,
    pub client_request_id: String,
    /// The request's timeout, which also bounds reading the body.
    timeout: Duration,
    /// How many times it was sent.
    pub attempts: u32,
    /// A 429/503/504 that was not retried because its wait would pass the deadline.
    pub wait_exceeds_deadline: bool,
}

impl Sent {
    /// The body, at most [`MAX_BODY_BYTES`]; a body that stalls past the request's timeout is
    /// a [`TransportError::Timeout`].
    pub async fn body(self) -> Result<Vec<u8>, TransportError> {
        read_body(self.response, MAX_BODY_BYTES, self.timeout).await
    }
}

/// Reads a body chunk by chunk, refusing it as soon as it exceeds `limit` (a declared
/// `Content-Length` is checked before reading anything).
pub async fn read_body(
    mut response: Response,
    limit: usize,
    timeout: Duration,
) -> Result<Vec<u8>, TransportError> {
    if response
        .content_length()
        .is_some_and(|length| length > limit as u64)
    {
        return Err(TransportError::TooLarge { limit });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| classify(error, timeout))?
    {
        if body.len() + chunk.len() > limit {
            return Err(TransportError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[derive(Debug, Clone)]
pub struct Transport {
    client: reqwest::Client,
    timeout: Duration,
    retry: RetryPolicy,
}

impl Transport {
    /// Fails when the proxy variables are unusable, or the TLS stack cannot start.
    pub fn new(timeout: Duration, retry: RetryPolicy) -> Result<Self, ClientBuildError> {
        Self::with_proxy(timeout, retry, &ProxyRule::from_env())
    }

    pub fn with_proxy(
        timeout: Duration,
        retry: RetryPolicy,
        proxy: &ProxyRule,
    ) -> Result<Self, ClientBuildError> {
        // `no_proxy()` turns off reqwest's own reading of HTTP_PROXY/ALL_PROXY, which would
        // also route plain http; see `proxy` for the rule.
        let mut builder = reqwest::Client::builder()
            // A bearer token must never follow a redirect to another host.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(USER_AGENT)
            .no_proxy();
        if let Some(proxy) = proxy.reqwest()? {
            builder = builder.proxy(proxy);
        }
        let client = builder.build()?;
        Ok(Self {
            client,
            timeout,
            retry,
        })
    }

    /// Sends the request `build` makes (once per attempt, each with a fresh
    /// `client-request-id`), retrying throttling, unavailability and connection failures.
    /// A final 429/503/504 is returned as a response for the caller to explain.
    pub async fn send(
        &self,
        what: &str,
        idempotency: Idempotency,
        deadline: &Deadline,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<Sent, TransportError> {
        self.send_waiting(what, idempotency, deadline, Duration::ZERO, build)
            .await
    }

    /// [`send`](Self::send) for a call the server may take long to answer: each attempt
    /// waits at least `at_least` (still never past the deadline).
    pub async fn send_waiting(
        &self,
        what: &str,
        idempotency: Idempotency,
        deadline: &Deadline,
        at_least: Duration,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<Sent, TransportError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let client_request_id = uuid::Uuid::new_v4().to_string();
            let remaining = deadline
                .remaining()
                .ok_or(TransportError::DeadlineReached)?;
            let timeout = self.timeout.max(at_least).min(remaining);
            let started = Instant::now();
            let outcome = build(&self.client)
                .header("client-request-id", &client_request_id)
                .timeout(timeout)
                .send()
                .await;
            let elapsed_ms = started.elapsed().as_millis() as u64;
            let (pause, error) = match outcome {
                Ok(response) => {
                    log_response(what, &response, &client_request_id, attempt, elapsed_ms);
                    let mut sent = Sent {
                        response,
                        client_request_id,
                        timeout,
                        attempts: attempt,
                        wait_exceeds_deadline: false,
                    };
                    if !is_retryable_status(sent.response.status(), idempotency)
                        || attempt >= self.retry.max_attempts
                    {
                        return Ok(sent);
                    }
                    let pause = self.retry.delay(attempt, retry_after(&sent.response));
                    // A wait past the deadline is not waited: the caller gets Graph's own
                    // answer (429/503 with its Retry-After), not a timeout of ours.
                    if !fits_before(deadline, pause) {
                        warn!(
                            what,
                            attempt,
                            pause_ms = pause.as_millis() as u64,
                            "the wait asked for does not fit before the deadline"
                        );
                        sent.wait_exceeds_deadline = true;
                        return Ok(sent);
                    }
                    (pause, None)
                }
                Err(error) => {
                    let error = classify(error, timeout);
                    warn!(what, attempt, elapsed_ms, client_request_id, error = %error, "request failed");
                    let retryable = match &error {
                        TransportError::Connect(_) => true,
                        _ => idempotency == Idempotency::Safe,
                    };
                    if !retryable || attempt >= self.retry.max_attempts {
                        return Err(error);
                    }
                    (self.retry.delay(attempt, None), Some(error))
                }
            };
            if let Some(error) = error.filter(|_| !fits_before(deadline, pause)) {
                warn!(what, attempt, "no time left to retry before the deadline");
                return Err(error);
            }
            tokio::time::sleep(pause).await;
        }
    }
}

fn fits_before(deadline: &Deadline, pause: Duration) -> bool {
    deadline.remaining().is_some_and(|left| left > pause)
}

/// 429 and 503 mean the server did not act: always safe to repeat. A 504 is a gateway that
/// gave up waiting, so the server may have acted: only reads repeat it; the caller of a
/// trigger re-reads the job first.
fn is_retryable_status(status: StatusCode, idempotency: Idempotency) -> bool {
    match status.as_u16() {
        429 | 503 => true,
        504 => idempotency == Idempotency::Safe,
        _ => false,
    }
}

/// `Retry-After` as seconds (whole or decimal) or an HTTP date.
pub fn retry_after(response: &Response) -> Option<Duration> {
    let value = response.headers().get("retry-after")?.to_str().ok()?;
    parse_retry_after(value, SystemTime::now())
}

/// RFC 9110 says delta-seconds are whole, but Microsoft's own throttling sample sends
/// `Retry-After: 2.128`: decimals are read as such, not dropped. A value too large for a
/// `Duration` reads as the longest one (the caller compares it with the time left).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    let digits = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    match value.split_once('.') {
        None if digits(value) => {
            return Some(value.parse().map_or(Duration::MAX, Duration::from_secs));
        }
        Some((whole, fraction))
            if (digits(whole) || whole.is_empty())
                && (digits(fraction) || fraction.is_empty())
                && whole.len() + fraction.len() > 0 =>
        {
            let seconds: f64 = value.parse().ok()?;
            return Some(Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX));
        }
        _ => {}
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

fn classify(error: reqwest::Error, timeout: Duration) -> TransportError {
    let detail = error_chain(&error);
    if error.is_timeout() {
        TransportError::Timeout(timeout)
    } else if error.is_connect() {
        TransportError::Connect(detail)
    } else {
        TransportError::Connection(detail)
    }
}

/// The error and its causes on one line; reqwest's own text hides the useful part.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn log_response(
    what: &str,
    response: &Response,
    client_request_id: &str,
    attempt: u32,
    elapsed_ms: u64,
) {
    let request_id = response
        .headers()
        .get("request-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    info!(
        what,
        status = response.status().as_u16(),
        attempt,
        elapsed_ms,
        client_request_id,
        request_id,
        "http call"
    );
}

#[cfg(test)]
mod tests;
