//! Steady keep-alive load while a release step runs: `under_load` starts the
//! clients, runs the step (restarts, a migration, ...) on the test's task, stops
//! the clients and hands back everything they saw.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::wire::{Conn, Failure};

/// What the clients do.
#[derive(Clone)]
pub struct LoadSpec {
    pub addr: SocketAddr,
    pub conns: usize,
    /// Paths each client cycles through (a `/home` answer carries the release).
    pub paths: &'static [&'static str],
    /// Straight at one replica a refused connect means its listener closed: that
    /// client stops. Behind a load balancer a refusal is a failure like any other.
    pub stop_on_refused: bool,
}

/// The start of a run, on both clocks (log timestamps are wall-clock).
#[derive(Clone, Copy)]
pub struct Clock {
    pub t0: Instant,
    pub wall0: SystemTime,
}

impl Clock {
    /// Time since the load started.
    pub fn now(&self) -> Duration {
        self.t0.elapsed()
    }

    /// A wall-clock time (a log line's `timestamp`) on this run's time line.
    pub fn at_wall(&self, wall: SystemTime) -> Duration {
        wall.duration_since(self.wall0).unwrap_or_default()
    }
}

/// One request as one client saw it.
#[derive(Debug, Clone)]
pub struct Sample {
    pub client: usize,
    pub at: Duration,
    pub took: Duration,
    pub outcome: Result<u16, Failure>,
    /// The answer said `Connection: close`.
    pub close: bool,
    /// The request went out on a connection that had already served one.
    pub reused: bool,
    /// Index into [`Report::releases`], for answers that carry one.
    pub release: Option<usize>,
}

/// Everything a run saw.
pub struct Report {
    pub samples: Vec<Sample>,
    pub releases: Vec<String>,
    pub elapsed: Duration,
}

/// Run `spec`'s clients until `step` finishes, then stop them (bounded) and report.
pub async fn under_load<T, F, Fut>(spec: LoadSpec, step: F) -> (T, Report)
where
    F: FnOnce(Clock) -> Fut,
    Fut: Future<Output = T>,
{
    let clock = Clock {
        t0: Instant::now(),
        wall0: SystemTime::now(),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..spec.conns)
        .map(|id| tokio::spawn(client(id, spec.clone(), clock, stop.clone())))
        .collect();
    let out = step(clock).await;
    stop.store(true, Ordering::Relaxed);
    let mut report = Report {
        samples: Vec::new(),
        releases: Vec::new(),
        elapsed: clock.now(),
    };
    for c in clients {
        // A client ends within one reply timeout of `stop`.
        let (samples, releases) = tokio::time::timeout(Duration::from_secs(30), c)
            .await
            .expect("a load client stops within 30 s")
            .expect("a load client does not panic");
        report.merge(samples, releases);
    }
    report.samples.sort_by_key(|s| s.at);
    (out, report)
}

async fn client(
    id: usize,
    spec: LoadSpec,
    clock: Clock,
    stop: Arc<AtomicBool>,
) -> (Vec<Sample>, Vec<String>) {
    let (mut samples, mut releases) = (Vec::new(), Vec::<String>::new());
    let mut conn: Option<Conn> = None;
    // Ramp up over ~100 ms: a burst of simultaneous SYNs on loopback loses some
    // to the 1 s retransmit, which is the kernel's figure, not the service's.
    tokio::time::sleep(Duration::from_micros(500 * id as u64)).await;
    // Spread the paths so the clients do not move in step.
    for n in id.. {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let path = spec.paths[n % spec.paths.len()];
        let start = clock.now();
        let got = match conn.take() {
            Some(c) => Ok(c),
            None => Conn::connect(spec.addr).await,
        };
        let mut sample = Sample {
            client: id,
            at: start,
            took: Duration::ZERO,
            outcome: Err(Failure::Refused),
            close: false,
            reused: false,
            release: None,
        };
        if let Ok(mut c) = got {
            sample.reused = c.served > 0;
            match c.get(path).await {
                Ok(reply) => {
                    sample.outcome = Ok(reply.status);
                    sample.close = reply.close;
                    sample.release = release_of(&reply.body, &mut releases);
                    conn = (!reply.close).then_some(c);
                }
                Err(f) => sample.outcome = Err(f),
            }
        }
        sample.took = clock.now() - start;
        let refused = sample.outcome == Err(Failure::Refused);
        samples.push(sample);
        if refused {
            if spec.stop_on_refused {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    (samples, releases)
}

/// The `release` field of a JSON answer, interned in `releases`.
fn release_of(body: &[u8], releases: &mut Vec<String>) -> Option<usize> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let release = value.get("release")?.as_str()?;
    match releases.iter().position(|r| r == release) {
        Some(i) => Some(i),
        None => {
            releases.push(release.to_string());
            Some(releases.len() - 1)
        }
    }
}

impl Report {
    /// Add one client's samples, renumbering its releases into the shared list.
    fn merge(&mut self, samples: Vec<Sample>, releases: Vec<String>) {
        let map: Vec<usize> = releases
            .into_iter()
            .map(|r| match self.releases.iter().position(|x| *x == r) {
                Some(i) => i,
                None => {
                    self.releases.push(r);
                    self.releases.len() - 1
                }
            })
            .collect();
        self.samples.extend(samples.into_iter().map(|mut s| {
            s.release = s.release.map(|i| map[i]);
            s
        }));
    }

    /// Requests that got no answer or an answer outside 2xx.
    pub fn failures(&self) -> impl Iterator<Item = &Sample> {
        self.samples
            .iter()
            .filter(|s| !matches!(s.outcome, Ok(200..=299)))
    }

    /// The latency below which `q` of the answered requests fall.
    pub fn quantile(&self, q: f64) -> Duration {
        self.quantile_where(q, |_| true)
    }

    /// [`Report::quantile`] over the requests `pick` keeps.
    pub fn quantile_where(&self, q: f64, pick: impl Fn(&Sample) -> bool) -> Duration {
        let mut took: Vec<Duration> = self
            .samples
            .iter()
            .filter(|s| s.outcome.is_ok() && pick(s))
            .map(|s| s.took)
            .collect();
        took.sort();
        let i = ((took.len() as f64 * q).ceil() as usize).saturating_sub(1);
        took.get(i).copied().unwrap_or_default()
    }

    /// Answers carrying `release`: the first and the last time one was sent.
    pub fn release_window(&self, release: &str) -> Option<(Duration, Duration)> {
        let i = self.releases.iter().position(|r| r == release)?;
        let mut at = self
            .samples
            .iter()
            .filter(|s| s.release == Some(i))
            .map(|s| s.at);
        let first = at.next()?;
        Some((first, at.next_back().unwrap_or(first)))
    }

    pub fn rate(&self) -> f64 {
        self.samples.len() as f64 / self.elapsed.as_secs_f64()
    }
}
