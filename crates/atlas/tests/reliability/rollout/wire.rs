//! A bare HTTP/1.1 keep-alive client on one TCP connection: no pool and no retry,
//! so every refused connect and every EOF the server causes reaches the count
//! (a pooled client such as reqwest retries some of them out of sight).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Longest wait for one whole response.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// One answer.
pub struct Reply {
    pub status: u16,
    /// The server said `Connection: close`: this connection is done.
    pub close: bool,
    pub body: Vec<u8>,
}

/// Why a request got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// `connect` failed: nothing was sent.
    Refused,
    /// The connection ended (EOF or reset) before a whole response arrived.
    Eof,
    /// No whole response within [`REPLY_TIMEOUT`].
    Timeout,
    /// Bytes that are not the HTTP/1.1 response this client understands.
    Malformed,
}

/// One keep-alive connection.
pub struct Conn {
    stream: BufReader<TcpStream>,
    /// Requests answered on this connection so far.
    pub served: u32,
}

impl Conn {
    /// # Errors
    /// [`Failure::Refused`] when the connect fails (nobody listens),
    /// [`Failure::Timeout`] when it takes longer than [`REPLY_TIMEOUT`].
    pub async fn connect(addr: SocketAddr) -> Result<Conn, Failure> {
        match tokio::time::timeout(REPLY_TIMEOUT, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                Ok(Conn {
                    stream: BufReader::new(stream),
                    served: 0,
                })
            }
            Ok(Err(_)) => Err(Failure::Refused),
            Err(_) => Err(Failure::Timeout),
        }
    }

    /// `GET path` and read the whole response.
    ///
    /// # Errors
    /// What kept the answer from arriving; the connection is unusable afterwards.
    pub async fn get(&mut self, path: &str) -> Result<Reply, Failure> {
        let reply = tokio::time::timeout(REPLY_TIMEOUT, self.exchange(path))
            .await
            .map_err(|_| Failure::Timeout)??;
        self.served += 1;
        Ok(reply)
    }

    async fn exchange(&mut self, path: &str) -> Result<Reply, Failure> {
        let head = format!("GET {path} HTTP/1.1\r\nHost: atlas\r\nAccept: */*\r\n\r\n");
        self.stream
            .get_mut()
            .write_all(head.as_bytes())
            .await
            .map_err(|_| Failure::Eof)?;
        let status_line = self.line().await?;
        let status = status_line
            .strip_prefix("HTTP/1.1 ")
            .and_then(|s| s.get(..3))
            .and_then(|s| s.parse().ok())
            .ok_or(Failure::Malformed)?;
        let (mut length, mut close) = (None, false);
        loop {
            let line = self.line().await?;
            if line.is_empty() {
                break;
            }
            let Some((name, value)) = line.split_once(':') else {
                return Err(Failure::Malformed);
            };
            let value = value.trim();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse::<usize>().ok(),
                "connection" => close = value.eq_ignore_ascii_case("close"),
                // Every answer atlas and HAProxy give here has a length.
                "transfer-encoding" => return Err(Failure::Malformed),
                _ => {}
            }
        }
        let mut body = vec![0; length.ok_or(Failure::Malformed)?];
        self.stream
            .read_exact(&mut body)
            .await
            .map_err(|_| Failure::Eof)?;
        Ok(Reply {
            status,
            close,
            body,
        })
    }

    /// One header line without its CRLF; EOF or a reset is [`Failure::Eof`].
    async fn line(&mut self) -> Result<String, Failure> {
        let mut line = String::new();
        match self.stream.read_line(&mut line).await {
            Ok(0) | Err(_) => Err(Failure::Eof),
            Ok(_) if line.len() > 8192 => Err(Failure::Malformed),
            Ok(_) => Ok(line.trim_end_matches(['\r', '\n']).to_string()),
        }
    }
}
