//! The signals that stop a run: SIGINT (Ctrl-C) and SIGTERM (what systemd, Kubernetes and
//! `timeout` send) alike, counted from when the listener is made.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::Halt;
use crate::EXIT_INTERRUPTED;

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

/// SIGINT or SIGTERM: the first stops scheduling, the second aborts. One listener, registered
/// before anything is sent, sees both: a second signal that lands just after the first is not
/// lost.
pub(super) fn listen_for_signals(halt: &Arc<Halt>) {
    match Interrupts::new() {
        Ok(mut interrupts) => {
            let halt = Arc::clone(halt);
            tokio::spawn(async move {
                if let Some(name) = interrupts.next().await {
                    halt.signalled.store(true, Ordering::SeqCst);
                    eprintln!(
                        "helpdesk: interrupted; finishing the updates in flight ({name}; Ctrl-C or SIGTERM again to abort)"
                    );
                    if interrupts.next().await.is_some() {
                        if let Some(j) = &halt.journal {
                            j.sync();
                        }
                        eprintln!("helpdesk: aborted");
                        std::process::exit(i32::from(EXIT_INTERRUPTED));
                    }
                }
            });
        }
        Err(e) => eprintln!("helpdesk: cannot listen for signals ({e}); they will kill the run"),
    }
}
