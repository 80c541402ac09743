//! The server's log: lines go to stderr through a bounded queue and one writer thread, so
//! logging never blocks or fails the API.
//!
//! A call that logs hands its formatted line to the queue without waiting: when the queue is
//! full (stderr is a pipe nobody reads, a slow terminal) the line is dropped and counted, and
//! the writer thread reports the count once it can write again. A write that fails (a full
//! file system, a pipe whose reader exited: `EPIPE`) is ignored; nothing on this path panics
//! (tracing's own "could not write" message, which goes through `eprintln!` and would panic
//! on a broken stderr, is turned off). The audit trail, not the log, is the record of calls.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

/// Log lines queued at most; beyond this they are dropped and counted.
pub const QUEUE_LINES: usize = 8192;

/// Where tracing writes: a non-blocking handle on the writer thread's queue.
#[derive(Clone)]
pub struct LogQueue {
    tx: SyncSender<Vec<u8>>,
    dropped: Arc<AtomicU64>,
}

impl LogQueue {
    /// Starts the writer thread, writing to `out` (stderr in `serve`).
    pub fn start(out: impl Write + Send + 'static) -> std::io::Result<Self> {
        let (tx, rx) = sync_channel(QUEUE_LINES);
        let dropped = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&dropped);
        std::thread::Builder::new()
            .name("keywarden-log".into())
            .spawn(move || write_lines(&rx, out, &counter))?;
        Ok(Self { tx, dropped })
    }
}

/// Writes queued lines until every [`LogQueue`] is gone, ignoring write errors.
fn write_lines(rx: &Receiver<Vec<u8>>, mut out: impl Write, dropped: &AtomicU64) {
    while let Ok(line) = rx.recv() {
        let lost = dropped.swap(0, Ordering::Relaxed);
        if lost > 0 {
            let note = format!("keywarden: {lost} log lines dropped (the log could not keep up)\n");
            let _ = out.write_all(note.as_bytes());
        }
        let _ = out.write_all(&line);
        let _ = out.flush();
    }
}

impl Write for LogQueue {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.tx.try_send(buf.to_vec()) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogQueue {
    type Writer = LogQueue;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Installs the global subscriber: `KEYWARDEN_LOG` filter (default `info`), lines to stderr
/// through a [`LogQueue`].
pub fn init() -> std::io::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KEYWARDEN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let queue = LogQueue::start(std::io::stderr())?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(queue)
        .log_internal_errors(false)
        .init();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A writer that blocks until released, then records what it got.
    struct Gate {
        open: Arc<Mutex<()>>,
        got: Arc<Mutex<Vec<u8>>>,
    }

    impl Write for Gate {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let _open = self.open.lock().unwrap();
            self.got.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_blocked_output_drops_lines_instead_of_blocking_the_caller() {
        let open = Arc::new(Mutex::new(()));
        let got = Arc::new(Mutex::new(Vec::new()));
        let closed = open.lock().unwrap();
        let mut queue = LogQueue::start(Gate {
            open: Arc::clone(&open),
            got: Arc::clone(&got),
        })
        .unwrap();
        // Far more lines than the queue holds: every write returns at once.
        for i in 0..(QUEUE_LINES * 3) {
            queue.write_all(format!("line {i}\n").as_bytes()).unwrap();
        }
        assert!(queue.dropped.load(Ordering::Relaxed) > 0);
        drop(closed);
        queue.write_all(b"after\n").unwrap();
        drop(queue);
        // The thread ends when the last queue handle is gone; wait for the report.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let text = String::from_utf8(got.lock().unwrap().clone()).unwrap();
            if text.contains("log lines dropped") {
                // The first queued line is written (the note of the drops may come before it,
                // when the writer thread starts after the queue filled up).
                assert!(text.contains("line 0\n"), "{}", &text[..80]);
                break;
            }
            assert!(std::time::Instant::now() < deadline, "no drop report");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}
