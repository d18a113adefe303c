//! The signals that stop a run: SIGINT (Ctrl-C) and SIGTERM (what systemd, Kubernetes and
//! `timeout` send) alike, counted from when the listener is made.

/// SIGINT and SIGTERM (on Windows, Ctrl-C).
pub(super) struct Interrupts {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(windows)]
    signal: tokio::signal::windows::CtrlC,
}

impl Interrupts {
    pub(super) fn new() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(windows)]
        return Ok(Self {
            signal: tokio::signal::windows::ctrl_c()?,
        });
        #[cfg(not(any(unix, windows)))]
        return Ok(Self {});
    }

    /// Waits for the next signal and names it; `None` if no more can come.
    pub(super) async fn next(&mut self) -> Option<&'static str> {
        #[cfg(unix)]
        return tokio::select! {
            s = self.interrupt.recv() => s.map(|()| "SIGINT"),
            s = self.terminate.recv() => s.map(|()| "SIGTERM"),
        };
        #[cfg(windows)]
        return self.signal.recv().await.map(|()| "Ctrl-C");
        #[cfg(not(any(unix, windows)))]
        return None;
    }
}
