//! When to send a request again, and after how long: idempotent methods only,
//! transport failures, 5xx (except 501 and 505) and 429; exponential backoff with full
//! jitter; `Retry-After` up to `backoff_max`; and a budget shared by all calls.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use axum::http::{header, HeaderMap, Method, StatusCode};
use tokio::time::Instant;

use super::config::{ClientConfig, RetryBudgetConfig};
use super::error::ClientError;
use super::response::Response;

/// Only these may be sent twice without the caller's say-so (RFC 9110 §9.2.2).
pub(super) fn is_idempotent(method: &Method) -> bool {
    [
        Method::GET,
        Method::HEAD,
        Method::PUT,
        Method::DELETE,
        Method::OPTIONS,
        Method::TRACE,
    ]
    .contains(method)
}

/// How long to wait before retrying after `result`, or `None` to return it. The
/// method and the attempt count are checked by the caller.
pub(super) fn retry_delay(
    result: &Result<Response, ClientError>,
    config: &ClientConfig,
    resend: u32,
    now: SystemTime,
) -> Option<Duration> {
    let outcome = result.as_ref().map(|res| (res.status, &res.headers));
    retry_delay_for(outcome, config, resend, now)
}

/// [`retry_delay`] from a status and headers (a body not read yet) or an error.
pub(super) fn retry_delay_for(
    outcome: Result<(StatusCode, &HeaderMap), &ClientError>,
    config: &ClientConfig,
    resend: u32,
    now: SystemTime,
) -> Option<Duration> {
    let backoff = || full_jitter(backoff_cap(config, resend), fastrand::f64());
    match outcome {
        Ok((status, headers)) if retryable_status(status) => match retry_after(headers, now) {
            Some(wait) if wait <= config.backoff_max => Some(wait),
            // The server wants a longer pause than this client may take: retrying
            // sooner would only be refused again, so its answer goes back.
            Some(_) => None,
            None => Some(backoff()),
        },
        Ok(_) => None,
        Err(e) if e.retryable() => Some(backoff()),
        Err(_) => None,
    }
}

fn retryable_status(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
        || (status.is_server_error()
            && status != StatusCode::NOT_IMPLEMENTED
            && status != StatusCode::HTTP_VERSION_NOT_SUPPORTED)
}

/// `min(backoff_max, backoff_base × 2^resend)`.
fn backoff_cap(config: &ClientConfig, resend: u32) -> Duration {
    let factor = 1u32.checked_shl(resend).unwrap_or(u32::MAX);
    config
        .backoff_base
        .saturating_mul(factor)
        .min(config.backoff_max)
}

/// "Full jitter": a uniform draw in `[0, cap]`; `unit` is the draw in `[0, 1)`.
fn full_jitter(cap: Duration, unit: f64) -> Duration {
    cap.mul_f64(unit.clamp(0.0, 1.0))
}

/// `Retry-After` as delay-seconds or an HTTP date.
fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The retry budget (Finagle's `RetryBudget`): deposits expire after a window kept
/// as [`RetryBudget::SLICES`] slices, so old traffic stops paying for new retries.
pub(super) struct RetryBudget {
    ratio: f64,
    reserve: f64,
    slice: Duration,
    epoch: Instant,
    slices: Mutex<[Slice; RetryBudget::SLICES]>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Slice {
    index: u64,
    requests: u64,
    retries: u64,
}

impl RetryBudget {
    const SLICES: usize = 10;

    pub(super) fn new(config: &RetryBudgetConfig) -> Self {
        Self {
            ratio: config.ratio,
            reserve: f64::from(config.min_per_second) * config.window.as_secs_f64(),
            slice: config.window / Self::SLICES as u32,
            epoch: Instant::now(),
            slices: Mutex::new([Slice::default(); Self::SLICES]),
        }
    }

    /// Credit one request.
    pub(super) fn deposit(&self) {
        self.with_current(|slices, i| slices[i].requests += 1);
    }

    /// Take one retry if the budget allows.
    pub(super) fn try_withdraw(&self) -> bool {
        self.with_current(|slices, i| {
            let (requests, retries) = slices
                .iter()
                .fold((0, 0), |(q, r), s| (q + s.requests, r + s.retries));
            let balance = self.reserve + self.ratio * requests as f64 - retries as f64;
            if balance >= 1.0 {
                slices[i].retries += 1;
                true
            } else {
                false
            }
        })
    }

    /// Run `f` on the window with expired slices cleared, and the current slot.
    fn with_current<T>(&self, f: impl FnOnce(&mut [Slice; Self::SLICES], usize) -> T) -> T {
        let now = (self.epoch.elapsed().as_nanos() / self.slice.as_nanos().max(1)) as u64;
        let mut slices = self.slices.lock().unwrap_or_else(|e| e.into_inner());
        for s in slices.iter_mut() {
            if now.saturating_sub(s.index) >= Self::SLICES as u64 {
                *s = Slice::default();
            }
        }
        let i = (now % Self::SLICES as u64) as usize;
        if slices[i].index != now {
            slices[i] = Slice {
                index: now,
                ..Slice::default()
            };
        }
        f(&mut slices, i)
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Bytes;

    use super::*;

    fn config(base_ms: u64, max_ms: u64) -> ClientConfig {
        ClientConfig {
            backoff_base: Duration::from_millis(base_ms),
            backoff_max: Duration::from_millis(max_ms),
            ..ClientConfig::default()
        }
    }

    #[test]
    fn backoff_doubles_from_the_base_up_to_the_max() {
        let c = config(100, 2000);
        let caps: Vec<u128> = (0..7).map(|n| backoff_cap(&c, n).as_millis()).collect();
        assert_eq!(caps, [100, 200, 400, 800, 1600, 2000, 2000]);
        assert_eq!(backoff_cap(&c, 40).as_millis(), 2000, "no overflow");
    }

    #[test]
    fn full_jitter_stays_within_zero_and_the_cap() {
        let cap = Duration::from_millis(800);
        assert_eq!(full_jitter(cap, 0.0), Duration::ZERO);
        assert_eq!(full_jitter(cap, 0.5), Duration::from_millis(400));
        for _ in 0..1000 {
            assert!(full_jitter(cap, fastrand::f64()) <= cap);
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let cases = [
            ("3", Some(3)),
            (" 0 ", Some(0)),
            (
                httpdate::fmt_http_date(now + Duration::from_secs(7)).as_str(),
                Some(7),
            ),
            (
                httpdate::fmt_http_date(now - Duration::from_secs(7)).as_str(),
                Some(0),
            ),
            ("soon", None),
            ("-1", None),
        ]
        .map(|(v, want)| (v.to_owned(), want));
        for (value, want) in cases {
            let mut h = HeaderMap::new();
            h.insert(header::RETRY_AFTER, value.parse().unwrap());
            assert_eq!(
                retry_after(&h, now).map(|d| d.as_secs()),
                want,
                "case {value:?}"
            );
        }
    }

    #[test]
    fn retry_decisions_follow_status_error_and_retry_after() {
        let c = config(100, 2000);
        let now = SystemTime::now();
        let res = |code: u16, retry_after: Option<&str>| {
            let mut headers = HeaderMap::new();
            if let Some(v) = retry_after {
                headers.insert(header::RETRY_AFTER, v.parse().unwrap());
            }
            Ok(Response {
                status: StatusCode::from_u16(code).unwrap(),
                headers,
                body: Bytes::new(),
            })
        };
        let host = || "h".to_owned();
        let cases: Vec<(&str, Result<Response, ClientError>, Option<Duration>)> = vec![
            ("200 is final", res(200, None), None),
            ("404 is final", res(404, None), None),
            ("501 is final", res(501, None), None),
            (
                "429 honours Retry-After",
                res(429, Some("1")),
                Some(Duration::from_secs(1)),
            ),
            (
                "503 honours Retry-After",
                res(503, Some("2")),
                Some(Duration::from_secs(2)),
            ),
            (
                "Retry-After above the max is final",
                res(429, Some("3")),
                None,
            ),
            (
                "too large is final",
                Err(ClientError::TooLarge {
                    host: host(),
                    limit: 1,
                }),
                None,
            ),
            (
                "a timeout is retried",
                Err(ClientError::Timeout {
                    host: host(),
                    after: Duration::ZERO,
                }),
                Some(Duration::MAX),
            ),
            ("500 is retried", res(500, None), Some(Duration::MAX)),
        ];
        for (name, result, want) in cases {
            let got = retry_delay(&result, &c, 0, now);
            match want {
                // Jittered: anything within the first cap.
                Some(Duration::MAX) => {
                    assert!(
                        got.is_some_and(|d| d <= c.backoff_base),
                        "case {name}: {got:?}"
                    )
                }
                want => assert_eq!(got, want, "case {name}"),
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retry_budget_allows_the_reserve_plus_a_share_of_requests_and_refills_after_the_window()
    {
        let budget = RetryBudget::new(&RetryBudgetConfig {
            ratio: 0.2,
            min_per_second: 1,
            window: Duration::from_secs(10),
        });
        for _ in 0..50 {
            budget.deposit();
        }
        let granted = (0..100).take_while(|_| budget.try_withdraw()).count();
        assert_eq!(granted, 10 + 10, "reserve 1/s × 10s plus 20% of 50");

        tokio::time::advance(Duration::from_secs(11)).await;
        let granted = (0..100).take_while(|_| budget.try_withdraw()).count();
        assert_eq!(
            granted, 10,
            "old deposits and withdrawals expired; reserve only"
        );
    }
}
