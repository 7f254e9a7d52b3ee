//! The shutdown signal: one future, cheap to clone, that resolves once SIGTERM or SIGINT arrived, so every part of a
//! process (HTTP servers, controllers, a leader election loop) can wait for the same event.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

/// Resolves once SIGTERM or SIGINT arrived (and at once for clones polled after that). Cloning is cheap.
#[derive(Clone)]
pub struct ShutdownSignal(Shared<BoxFuture<'static, ()>>);

impl std::fmt::Debug for ShutdownSignal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let received = self.0.peek().is_some();
        f.debug_struct("ShutdownSignal").field("received", &received).finish()
    }
}

impl Future for ShutdownSignal {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0.poll_unpin(cx)
    }
}

/// Starts listening for SIGTERM and SIGINT, logging which one arrived (`SIGTERM received: stopping`) the moment it
/// does, whether or not anything waits yet. Needs a Tokio runtime; fails only when the signal handlers cannot be
/// installed.
pub fn shutdown_signal() -> std::io::Result<ShutdownSignal> {
    let mut term = signal(SignalKind::terminate()).map_err(|err| cannot_handle("SIGTERM", &err))?;
    let mut int = signal(SignalKind::interrupt()).map_err(|err| cannot_handle("SIGINT", &err))?;
    let (sender, mut receiver) = watch::channel(false);
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM received: stopping"),
            _ = int.recv() => tracing::info!("SIGINT received: stopping"),
        }
        let _ = sender.send(true);
    });
    let stopped = async move {
        // An error means the listener task is gone (the runtime is shutting down): stop as well.
        let _ = receiver.wait_for(|received| *received).await;
    };
    Ok(ShutdownSignal(stopped.boxed().shared()))
}

fn cannot_handle(signal: &str, err: &std::io::Error) -> std::io::Error {
    std::io::Error::new(err.kind(), format!("cannot handle {signal}: {err}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// One test only: a signal reaches every listener in the process, so a second test would see this one's.
    #[tokio::test]
    async fn clones_wait_for_a_signal_and_then_all_resolve() {
        let signal = shutdown_signal().unwrap();
        let clones = [signal.clone(), signal.clone()];
        let early = tokio::time::timeout(Duration::from_millis(100), signal.clone()).await;
        assert!(early.is_err(), "resolved without a signal");
        assert!(format!("{signal:?}").contains("received: false"), "{signal:?}");
        // The handlers are installed, so SIGINT cannot terminate the test process.
        let sent = std::process::Command::new("kill").arg("-INT").arg(std::process::id().to_string()).status();
        assert!(sent.unwrap().success(), "kill -INT failed");
        for clone in clones {
            tokio::time::timeout(Duration::from_secs(10), clone).await.expect("a clone did not see SIGINT");
        }
        tokio::time::timeout(Duration::from_secs(1), signal.clone()).await.expect("a late clone did not resolve");
        assert!(format!("{signal:?}").contains("received: true"), "{signal:?}");
    }
}
