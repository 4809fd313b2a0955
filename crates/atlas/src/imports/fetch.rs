//! URL imports: where they may go, what they show of the URL, and reading the body
//! as it arrives into the parser, a bounded channel apart.

use std::io::Read;
use std::net::{IpAddr, UdpSocket};

use axum::body::Bytes;
use tokio::sync::mpsc;

/// The URL as jobs and logs show it: no user, no password, secret-looking query
/// values replaced. Unparsable input is shown only if it holds no `@`.
pub fn shown_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) if !url.cannot_be_a_base() => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            podkit::config::redact_url(url.as_str())
        }
        _ => podkit::config::redact_url(raw),
    }
}

/// The service's own listeners, which imports must never call (its admin port
/// holds `/admin/*`; its API port would have it import from itself).
#[derive(Debug, Clone)]
pub struct OwnPorts {
    /// `server.port` and `admin.port`.
    pub ports: Vec<u16>,
    /// `server.host`.
    pub host: IpAddr,
}

impl OwnPorts {
    /// Whether `url` reaches one of the own ports on an address of this machine:
    /// loopback, unspecified, the bind address, or any address a socket can bind
    /// here (the pod's own IPs). Host names are resolved; one local answer suffices.
    pub async fn reached_by(&self, url: &url::Url) -> Option<u16> {
        let port = url.port_or_known_default()?;
        if !self.ports.contains(&port) {
            return None;
        }
        let ips: Vec<IpAddr> = match url.host()? {
            url::Host::Ipv4(ip) => vec![ip.into()],
            url::Host::Ipv6(ip) => vec![ip.into()],
            url::Host::Domain(d) => tokio::net::lookup_host((d, port))
                .await
                .map(|addrs| addrs.map(|a| a.ip()).collect())
                .unwrap_or_default(),
        };
        ips.into_iter().any(|ip| self.is_local(ip)).then_some(port)
    }

    fn is_local(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        ip.is_loopback()
            || ip.is_unspecified()
            || ip == self.host
            || UdpSocket::bind((ip, 0)).is_ok()
    }
}

/// A blocking reader over body chunks sent from the async side. The channel holds
/// at most two chunks: the parser sets the pace, and when it stops (at
/// `max_rows` + 1) the sender sees a closed channel and the download is dropped.
pub struct ChannelReader {
    rx: mpsc::Receiver<Bytes>,
    current: Bytes,
}

/// Chunks buffered between the download and the parser.
pub const CHANNEL_CHUNKS: usize = 2;

impl ChannelReader {
    /// The reader and the sender to feed it.
    pub fn new() -> (mpsc::Sender<Bytes>, Self) {
        let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
        (
            tx,
            Self {
                rx,
                current: Bytes::new(),
            },
        )
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            // Runs on a blocking thread (the parser's), never on the runtime.
            match self.rx.blocking_recv() {
                Some(chunk) => self.current = chunk,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_urls_carry_no_credentials() {
        let cases = [
            (
                "http://user:pw@data.example.org/a.csv",
                "http://data.example.org/a.csv",
            ),
            (
                "http://user@data.example.org/a.csv",
                "http://data.example.org/a.csv",
            ),
            (
                "http://data.example.org/a.csv?token=abc",
                "http://data.example.org/a.csv?token=***",
            ),
            (
                "http://data.example.org/a.csv",
                "http://data.example.org/a.csv",
            ),
        ];
        for (raw, want) in cases {
            assert_eq!(shown_url(raw), want, "case {raw}");
        }
    }

    #[tokio::test]
    async fn own_ports_are_unreachable_on_local_addresses_only() {
        let own = OwnPorts {
            ports: vec![8080, 8081],
            host: "0.0.0.0".parse().unwrap(),
        };
        let cases = [
            ("http://127.0.0.1:8081/admin", Some(8081)),
            ("http://localhost:8080/x", Some(8080)),
            ("http://[::1]:8081/", Some(8081)),
            ("http://0.0.0.0:8080/", Some(8080)),
            ("http://127.0.0.1:9000/", None),
            ("http://192.0.2.1:8080/", None),
        ];
        for (raw, want) in cases {
            let url = url::Url::parse(raw).unwrap();
            assert_eq!(own.reached_by(&url).await, want, "case {raw}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_channel_reader_yields_chunks_in_order_then_eof() {
        let (tx, mut reader) = ChannelReader::new();
        let parser = tokio::task::spawn_blocking(move || {
            let mut s = String::new();
            reader.read_to_string(&mut s).map(|_| s)
        });
        for part in ["a,b\n", "1,", "2\n"] {
            tx.send(Bytes::from(part)).await.unwrap();
        }
        drop(tx);
        assert_eq!(parser.await.unwrap().unwrap(), "a,b\n1,2\n");
    }
}
