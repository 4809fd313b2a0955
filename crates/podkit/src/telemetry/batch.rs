//! A log writer that batches: request threads append lines to a bounded buffer
//! under a short lock, and one writer thread takes the whole buffer every
//! [`FLUSH_EVERY`] (or as soon as [`FLUSH_AT`] bytes are waiting) and writes it.
//!
//! A channel per line (what `tracing-appender` does) wakes the writer thread for
//! nearly every line under load: a futex call and a context switch per request,
//! more than formatting the line costs. Here a burst of lines costs one wake-up and
//! one `write(2)`.
//!
//! Bounded: past [`MAX_PENDING`] bytes waiting (the sink is slower than the
//! service), lines are dropped rather than stalling requests or growing memory;
//! the writer then writes one line saying how many.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// Longest a line waits before it is written.
pub const FLUSH_EVERY: Duration = Duration::from_millis(50);
/// Bytes waiting that wake the writer early.
pub const FLUSH_AT: usize = 64 * 1024;
/// Bytes waiting past which new lines are dropped.
pub const MAX_PENDING: usize = 8 * 1024 * 1024;

/// How the writer thread writes a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The whole batch in one write (stdout, stderr).
    Whole,
    /// Line by line, so a rotating file sees each line's size (no file overshoots
    /// its limit by a batch).
    Lines,
}

/// How the writer thread reports dropped lines: a JSON line or plain text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropNotice {
    /// `{"level":"WARN",…,"dropped":N}`
    Json,
    /// `WARN log lines dropped: N`
    Text,
}

#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    dropped: u64,
    woken: bool,
    closed: bool,
}

struct Shared {
    pending: Mutex<Pending>,
    wake: Condvar,
}

fn lock(m: &Mutex<Pending>) -> MutexGuard<'_, Pending> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The `MakeWriter` handed to a log layer.
#[derive(Clone)]
pub struct BatchWriter {
    shared: Arc<Shared>,
}

/// Owns the writer thread: dropping it writes what is pending and joins it.
pub struct BatchGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// Start a writer thread over `sink`.
///
/// # Errors
/// The thread cannot be spawned.
pub fn batch(
    sink: Box<dyn Write + Send>,
    delivery: Delivery,
    notice: DropNotice,
) -> io::Result<(BatchWriter, BatchGuard)> {
    let shared = Arc::new(Shared {
        pending: Mutex::new(Pending::default()),
        wake: Condvar::new(),
    });
    let s = shared.clone();
    let thread = std::thread::Builder::new()
        .name("podkit-log-writer".into())
        .spawn(move || run(&s, sink, delivery, notice))?;
    Ok((
        BatchWriter {
            shared: shared.clone(),
        },
        BatchGuard {
            shared,
            thread: Some(thread),
        },
    ))
}

impl BatchWriter {
    fn push(&self, line: &[u8]) {
        let mut p = lock(&self.shared.pending);
        if p.bytes.len() + line.len() > MAX_PENDING {
            p.dropped += 1;
            return;
        }
        p.bytes.extend_from_slice(line);
        if p.bytes.len() >= FLUSH_AT && !p.woken {
            p.woken = true;
            drop(p);
            self.shared.wake.notify_one();
        }
    }
}

/// One line's writer (layers write each line with one `write_all`).
pub struct LineWriter<'a>(&'a BatchWriter);

impl Write for LineWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.push(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for BatchWriter {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter(self)
    }
}

impl Drop for BatchGuard {
    fn drop(&mut self) {
        lock(&self.shared.pending).closed = true;
        self.shared.wake.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The writer thread: wait for a batch (or the period), swap it out, write it.
fn run(shared: &Shared, mut sink: Box<dyn Write + Send>, delivery: Delivery, notice: DropNotice) {
    let mut batch = Vec::new();
    loop {
        let (dropped, closed) = {
            let mut p = lock(&shared.pending);
            if !p.closed && p.bytes.len() < FLUSH_AT {
                p = shared
                    .wake
                    .wait_timeout(p, FLUSH_EVERY)
                    .map(|(g, _)| g)
                    .unwrap_or_else(|e| e.into_inner().0);
            }
            std::mem::swap(&mut batch, &mut p.bytes);
            p.woken = false;
            (std::mem::take(&mut p.dropped), p.closed)
        };
        write_batch(&mut *sink, &batch, delivery);
        if dropped > 0 {
            let _ = sink.write_all(drop_line(dropped, notice).as_bytes());
        }
        let _ = sink.flush();
        // Keep the allocation for the next swap, but not a burst's worth of it.
        batch.clear();
        batch.shrink_to(FLUSH_AT * 2);
        if closed {
            return;
        }
    }
}

fn write_batch(sink: &mut dyn Write, batch: &[u8], delivery: Delivery) {
    if batch.is_empty() {
        return;
    }
    match delivery {
        Delivery::Whole => {
            let _ = sink.write_all(batch);
        }
        Delivery::Lines => {
            for line in batch.split_inclusive(|b| *b == b'\n') {
                let _ = sink.write_all(line);
            }
        }
    }
}

fn drop_line(n: u64, notice: DropNotice) -> String {
    let msg = "log lines dropped: the sink is slower than the service";
    match notice {
        DropNotice::Json => format!(
            "{{\"level\":\"WARN\",\"target\":\"podkit::telemetry\",\"message\":\"{msg}\",\"dropped\":{n}}}\n"
        ),
        DropNotice::Text => format!("WARN podkit::telemetry: {msg} (dropped={n})\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink that records each write.
    #[derive(Clone, Default)]
    struct Recorder(Arc<std::sync::Mutex<Vec<Vec<u8>>>>);

    impl Write for Recorder {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().push(buf.to_vec());
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn write_line(w: &BatchWriter, line: &str) {
        w.make_writer().write_all(line.as_bytes()).unwrap();
    }

    #[test]
    fn every_line_arrives_in_order_and_a_burst_is_few_writes() {
        let rec = Recorder::default();
        let (w, guard) = batch(Box::new(rec.clone()), Delivery::Whole, DropNotice::Json).unwrap();
        for i in 0..10_000 {
            write_line(&w, &format!("line {i}\n"));
        }
        drop(guard);
        let writes = rec.0.lock().unwrap();
        let all: Vec<u8> = writes.concat();
        let want: String = (0..10_000).map(|i| format!("line {i}\n")).collect();
        assert_eq!(String::from_utf8(all).unwrap(), want);
        assert!(
            writes.len() < 100,
            "{} writes for 10 000 lines",
            writes.len()
        );
    }

    #[test]
    fn line_delivery_writes_each_line_alone() {
        let rec = Recorder::default();
        let (w, guard) = batch(Box::new(rec.clone()), Delivery::Lines, DropNotice::Text).unwrap();
        write_line(&w, "a\n");
        write_line(&w, "bb\n");
        drop(guard);
        assert_eq!(
            *rec.0.lock().unwrap(),
            vec![b"a\n".to_vec(), b"bb\n".to_vec()]
        );
    }

    #[test]
    fn past_the_bound_lines_are_dropped_and_counted() {
        /// A sink that blocks until released, so lines pile up.
        struct Stuck(Arc<(Mutex<bool>, Condvar)>, Recorder);
        impl Write for Stuck {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                let (m, c) = &*self.0;
                let mut go = m.lock().unwrap();
                while !*go {
                    go = c.wait(go).unwrap();
                }
                self.1.write(buf)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let rec = Recorder::default();
        let sink = Stuck(gate.clone(), rec.clone());
        let (w, guard) = batch(Box::new(sink), Delivery::Whole, DropNotice::Json).unwrap();
        // The first line is taken by the writer thread, which then blocks on it.
        write_line(&w, "first\n");
        std::thread::sleep(FLUSH_EVERY * 3);
        let line = "x".repeat(1023) + "\n";
        let fits = MAX_PENDING / line.len();
        for _ in 0..fits + 10 {
            write_line(&w, &line);
        }
        assert!(
            lock(&w.shared.pending).bytes.len() <= MAX_PENDING,
            "bounded"
        );
        *gate.0.lock().unwrap() = true;
        gate.1.notify_all();
        drop(guard);
        let text = String::from_utf8(rec.0.lock().unwrap().concat()).unwrap();
        assert_eq!(text.matches(&line).count(), fits);
        assert!(
            text.contains("\"dropped\":10}"),
            "{}",
            &text[text.len() - 200..]
        );
    }
}
