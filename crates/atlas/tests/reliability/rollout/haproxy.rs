//! HAProxy (the Debian package) in front of atlas replicas, the way a cluster's
//! load balancer or kube-proxy + readiness would be: it sends traffic only to
//! replicas whose `/readyz` answers 200, and retries what is safe to retry.
//! A child process of the test, on loopback, removed on drop (by its PID).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

use crate::helpers::{free_port, require_tool, TempDir};

/// One replica as HAProxy sees it.
pub struct Backend {
    pub name: &'static str,
    pub api: SocketAddr,
    pub admin: SocketAddr,
}

/// A server's line of `show stat`.
#[derive(Debug)]
pub struct ServerStat {
    pub name: String,
    pub status: String,
    /// Requests HAProxy sent again (to this server) after a safe-to-retry failure.
    pub retries: u64,
    /// Requests HAProxy moved from this server to another.
    pub redispatches: u64,
    /// The last health check's result, e.g. `L7OK`, `L7STS` (a 503), `L4CON`.
    pub check: String,
    /// How many times health checks took it from UP to DOWN.
    pub downs: u64,
}

pub struct HaProxy {
    child: Child,
    dir: TempDir,
    /// The frontend the load goes to.
    pub addr: SocketAddr,
}

/// The configuration, each setting with the reason it is there.
fn config(frontend: SocketAddr, socket: &std::path::Path, backends: &[Backend]) -> String {
    let socket = socket.display();
    let servers: String = backends
        .iter()
        .map(|b| {
            format!(
                "    server {} {} check port {}\n",
                b.name,
                b.api,
                b.admin.port()
            )
        })
        .collect();
    format!(
        r#"global
    # 100-200 clients plus as many server connections; small enough for any ulimit.
    maxconn 1024
    # `show stat` for the test: which server is UP, how many retries were needed.
    stats socket {socket} level admin

defaults
    mode http
    # A loopback connect that takes longer has failed: retry it.
    timeout connect 1s
    # Idle keep-alive clients and slow answers: far beyond what a healthy run sees.
    timeout client 30s
    timeout server 10s
    # A request that failed in a way safe to repeat is sent again, up to 3 times...
    retries 3
    # ...each time to another server, not the one that just failed.
    option redispatch 1
    # What is safe to repeat: the connect failed (a replica just closed its
    # listener); a reused keep-alive connection closed without an answer (the
    # replica's drain closed it as the request left); no answer in time.
    retry-on conn-failure empty-response response-timeout

frontend api
    bind {frontend}
    # HAProxy does not know which requests are idempotent: only GET/HEAD are
    # repeated, a POST that may have reached the server is never sent twice.
    http-request disable-l7-retry unless METH_GET
    default_backend atlas

backend atlas
    balance roundrobin
    # Readiness decides who gets traffic: /readyz on the admin port (`port` on each
    # server), 200 = in. A replica turns it 503 the moment SIGTERM arrives and
    # keeps serving through its drain delay, so HAProxy must notice well inside
    # that delay: a check every 200 ms, two failures take the server out (fall 2,
    # under 0.5 s), two passes bring a new process in (rise 2). One failure is
    # not enough: a replica carrying all the load may answer a check late, and
    # pulling it would leave no server at all. A check gets 2 s (by default it
    # would get `inter`, 200 ms); a draining replica fails fast with a 503. No `on-marked-down shutdown-sessions`: a
    # draining replica finishes what it has.
    option httpchk GET /readyz
    http-check expect status 200
    timeout check 2s
    default-server check inter 200ms fastinter 100ms downinter 200ms fall 2 rise 2
{servers}"#
    )
}

impl HaProxy {
    /// Start HAProxy on a free loopback port in front of `backends`.
    pub async fn start(backends: &[Backend]) -> HaProxy {
        // Debian installs it in /usr/sbin, which is not on every user's PATH.
        let sbin = std::path::Path::new("/usr/sbin/haproxy");
        let bin = match sbin.is_file() {
            true => sbin.to_path_buf(),
            false => require_tool("haproxy", "haproxy"),
        };
        let mut dir = TempDir::new();
        // HAProxy cannot report a port-0 bind back: take a port that was just free,
        // and take another if someone got there first (bounded).
        for _ in 0..5 {
            let addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
            let cfg = dir.0.join("haproxy.cfg");
            std::fs::write(&cfg, config(addr, &dir.0.join("stats.sock"), backends)).unwrap();
            let child = Command::new(&bin)
                .args(["-db", "-f"])
                .arg(&cfg)
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(dir.0.join("stderr")).unwrap())
                .spawn()
                .expect("haproxy starts");
            let mut proxy = HaProxy { child, dir, addr };
            if proxy.wait_listening(Duration::from_secs(10)).await {
                return proxy;
            }
            let _ = proxy.child.wait();
            eprintln!("haproxy did not start: {}", proxy.stderr());
            dir = std::mem::replace(&mut proxy.dir, TempDir::new());
        }
        panic!("haproxy did not start in 5 attempts");
    }

    /// True once the frontend accepts; false when HAProxy exited first.
    async fn wait_listening(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.child.try_wait().unwrap().is_some() {
                return false;
            }
            if tokio::net::TcpStream::connect(self.addr).await.is_ok() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "haproxy did not listen within {within:?}: {}",
            self.stderr()
        );
    }

    /// What HAProxy wrote to stderr (alerts and warnings).
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.0.join("stderr")).unwrap_or_default()
    }

    fn socket(&self) -> PathBuf {
        self.dir.0.join("stats.sock")
    }

    /// The servers of the backend, from `show stat`.
    pub async fn servers(&self) -> Vec<ServerStat> {
        let mut sock = UnixStream::connect(self.socket()).await.unwrap();
        sock.write_all(b"show stat\n").await.unwrap();
        let mut csv = String::new();
        sock.read_to_string(&mut csv).await.unwrap();
        let header: Vec<&str> = csv
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# "))
            .expect("a `show stat` header")
            .split(',')
            .collect();
        let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
        let (sv, st, re, rd) = (col("svname"), col("status"), col("wretr"), col("wredis"));
        let (ck, dn) = (col("check_status"), col("chkdown"));
        csv.lines()
            .skip(1)
            .map(|l| l.split(',').collect::<Vec<_>>())
            .filter(|f| f.first() == Some(&"atlas") && f.len() > rd.max(ck).max(dn))
            .filter(|f| f[sv] != "BACKEND")
            .map(|f| ServerStat {
                name: f[sv].to_string(),
                status: f[st].to_string(),
                retries: f[re].parse().unwrap_or(0),
                redispatches: f[rd].parse().unwrap_or(0),
                check: f[ck].to_string(),
                downs: f[dn].parse().unwrap_or(0),
            })
            .collect()
    }

    /// Wait (bounded) until server `name` is UP: it takes traffic again.
    pub async fn wait_up(&self, name: &str, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let servers = self.servers().await;
            if servers.iter().any(|s| s.name == name && s.status == "UP") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{name} not UP within {within:?}: {servers:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for HaProxy {
    fn drop(&mut self) {
        // Only our own child, by its handle (PID).
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
