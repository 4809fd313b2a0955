//! `service probe live|ready|startup`: an exec probe for images without a shell or curl.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use clap::ValueEnum;

use crate::config::KitConfig;

/// A probe endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProbeKind {
    /// `/healthz`
    Live,
    /// `/readyz`
    Ready,
    /// `/startupz`
    Startup,
}

impl ProbeKind {
    /// The admin path.
    pub fn path(self) -> &'static str {
        match self {
            ProbeKind::Live => "/healthz",
            ProbeKind::Ready => "/readyz",
            ProbeKind::Startup => "/startupz",
        }
    }
}

/// Ask the local admin port; `Ok` when it answers 200.
///
/// # Errors
/// A message saying what was tried and what came back.
pub fn check(kit: &KitConfig, kind: ProbeKind, timeout: Duration) -> Result<(), String> {
    // A wildcard bind address is reached over loopback.
    let host = match kit.server.host {
        h if h.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        h => h,
    };
    let addr = SocketAddr::new(host, kit.admin.port);
    let path = kind.path();
    let mut stream =
        TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("{addr}{path}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("{addr}{path}: {e}"))?;
    let mut head = [0u8; 64];
    let n = stream
        .read(&mut head)
        .map_err(|e| format!("{addr}{path}: {e}"))?;
    let line = String::from_utf8_lossy(&head[..n]);
    let status = line.split_whitespace().nth(1).unwrap_or("no response");
    if status == "200" {
        Ok(())
    } else {
        Err(format!("{addr}{path}: status {status}"))
    }
}
