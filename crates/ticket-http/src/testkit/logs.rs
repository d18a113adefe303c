//! The log lines a future writes while it runs, at every level, for the secrets checks: a
//! subscriber of its own for the future's polls only, so that a test's global one (or none)
//! makes no difference.

use std::future::Future;
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use tracing::instrument::WithSubscriber;
use tracing_subscriber::fmt::MakeWriter;

/// Where the captured lines go.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Lines {
    type Writer = Lines;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Runs `future`, and returns its output and every log line (events with their spans' fields)
/// it wrote while it ran. Lines written by tasks it spawned are not among them.
pub(super) async fn capturing<F: Future>(future: F) -> (F::Output, String) {
    let lines = Lines::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(lines.clone())
        .finish();
    let output = future.with_subscriber(subscriber).await;
    let text = String::from_utf8_lossy(&lines.0.lock().unwrap_or_else(PoisonError::into_inner))
        .into_owned();
    (output, text)
}
