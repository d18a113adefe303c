//! The signals that stop a run.

/// Ctrl-C presses, counted from when the listener is made.
pub(super) struct Interrupts {
    #[cfg(unix)]
    signal: tokio::signal::unix::Signal,
    #[cfg(windows)]
    signal: tokio::signal::windows::CtrlC,
}

impl Interrupts {
    pub(super) fn new() -> std::io::Result<Self> {
        Ok(Self {
            #[cfg(unix)]
            signal: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?,
            #[cfg(windows)]
            signal: tokio::signal::windows::ctrl_c()?,
        })
    }

    /// Waits for the next press; false if no more can come.
    pub(super) async fn next(&mut self) -> bool {
        #[cfg(any(unix, windows))]
        return self.signal.recv().await.is_some();
        #[cfg(not(any(unix, windows)))]
        return false;
    }
}
