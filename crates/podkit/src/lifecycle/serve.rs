//! The accept loop of both listeners: hyper connections with a header-read
//! timeout and a cap on open connections, `Connection: close` while the pod
//! drains, and a graceful stop that lets in-flight requests finish.
//!
//! Beyond `max_connections` the loop stops calling `accept`: new connections wait
//! in the kernel's listen backlog (a slow connect for the client, no error, no file
//! descriptor in this process) until an open one closes. Closing them at once
//! would hand a flood of resets to well-behaved clients that a second later would
//! have been served.

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request};
use axum::http::{header, HeaderValue};
use axum::response::Response;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use tracing::{debug, trace, warn};

use crate::config::ServerConfig;
use crate::health::Health;

/// How a listener serves its connections.
#[derive(Clone)]
pub struct ServeOptions {
    /// A connection must deliver a request's head within this (and may stay idle
    /// between requests this long).
    pub header_read_timeout: Duration,
    /// HTTP/1.1 keep-alive.
    pub keep_alive: bool,
    /// Open connections at most; beyond, new ones wait in the listen backlog.
    pub max_connections: usize,
    /// Largest request head in bytes (at least 8 KiB); larger get hyper's 431.
    pub max_header_bytes: usize,
    /// Once this reports shutting down, every response carries
    /// `Connection: close`, so keep-alive clients reconnect to another replica.
    pub draining: Option<Health>,
}

impl ServeOptions {
    /// The API listener's options from `server:`.
    pub fn api(server: &ServerConfig, health: Health) -> Self {
        Self {
            draining: Some(health),
            ..Self::admin(server, server.max_connections)
        }
    }

    /// The admin listener's: its own connection budget, the same timeouts.
    pub fn admin(server: &ServerConfig, max_connections: usize) -> Self {
        Self {
            header_read_timeout: server.header_read_timeout,
            keep_alive: server.keep_alive,
            max_connections,
            max_header_bytes: server.header_bytes(),
            draining: None,
        }
    }

    fn builder(&self) -> auto::Builder<TokioExecutor> {
        let mut b = auto::Builder::new(TokioExecutor::new());
        b.http1()
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_read_timeout)
            .keep_alive(self.keep_alive)
            .max_buf_size(self.max_header_bytes.max(ServerConfig::MIN_HEADER_BYTES));
        b.http2().timer(TokioTimer::new());
        b
    }
}

/// Serve `router` on `listener` until `stop` fires, then close the listener and
/// wait for open requests to finish (idle connections close at once).
///
/// # Errors
/// None today; the signature leaves room for a fatal listener error.
pub async fn serve_until(
    listener: TcpListener,
    router: Router,
    opts: ServeOptions,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let builder = Arc::new(opts.builder());
    let graceful = GracefulShutdown::new();
    let permits = Arc::new(Semaphore::new(opts.max_connections.max(1)));
    loop {
        let permit = tokio::select! {
            // Invariant: the semaphore is never closed.
            p = permits.clone().acquire_owned() => p.expect("semaphore is never closed"),
            () = stop.cancelled() => break,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, peer)) => {
                    trace!(peer = %peer, "connection accepted");
                    (stream, peer)
                }
                Err(e) => {
                    accept_failed(&e).await;
                    continue;
                }
            },
            () = stop.cancelled() => break,
        };
        let conn = connection(
            builder.clone(),
            stream,
            peer,
            router.clone(),
            opts.clone(),
            graceful.watcher(),
        );
        tokio::spawn(async move {
            conn.await;
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// `accept` fails when the process is out of file descriptors (EMFILE) or the
/// peer reset before it was accepted: wait a little rather than spin.
async fn accept_failed(e: &std::io::Error) {
    warn!(error.message = %e, "accepting a connection failed");
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// One connection, until it closes. A connection that has not started a request
/// within the header-read timeout is dropped: hyper's own timer starts only once
/// the protocol is known, and a client trickling the HTTP/2 preface (or nothing)
/// would otherwise hold its slot for ever.
async fn connection(
    builder: Arc<auto::Builder<TokioExecutor>>,
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    opts: ServeOptions,
    watcher: Watcher,
) {
    let _ = stream.set_nodelay(true);
    let started = Arc::new(AtomicBool::new(false));
    let service = {
        let started = started.clone();
        hyper::service::service_fn(move |mut req: Request<Incoming>| {
            started.store(true, Ordering::Relaxed);
            // What `ConnectInfo<SocketAddr>` extracts (the rate limit keys on it).
            req.extensions_mut().insert(ConnectInfo(peer));
            respond(router.clone(), req, opts.draining.clone())
        })
    };
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
    let conn = watcher.watch(conn);
    tokio::pin!(conn);
    tokio::select! {
        res = &mut conn => return closed(res),
        () = tokio::time::sleep(opts.header_read_timeout) => {}
    }
    if !started.load(Ordering::Relaxed) {
        debug!("closing a connection that sent no request within the header-read timeout");
        return;
    }
    closed(conn.await);
}

async fn respond(
    router: Router,
    req: Request<Incoming>,
    draining: Option<Health>,
) -> Result<Response, Infallible> {
    let mut res = router.oneshot(req).await?;
    if draining.is_some_and(|h| h.is_shutting_down()) {
        res.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    Ok(res)
}

fn closed(res: Result<(), Box<dyn std::error::Error + Send + Sync>>) {
    if let Err(e) = res {
        // Resets, timeouts and malformed requests: the client's business.
        debug!(error.message = %e, "connection ended with an error");
    }
}
