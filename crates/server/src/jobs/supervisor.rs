//! The supervisor of background tasks: it starts each one by name, asks
//! them all to stop at once, waits a grace period for them to finish what
//! they are doing, and aborts (and names) whatever is still running then.
//! Nothing that owns a task outlives `serve`.

use std::future::Future;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A job's view of the stop request. Jobs look at it only between units of
/// work, so that stopping never cuts off a write halfway.
#[derive(Clone)]
pub struct Stop(watch::Receiver<bool>);

impl Stop {
    /// Resolves once a stop has been requested.
    pub async fn requested(&mut self) {
        // An error means the supervisor is gone: stopping is all that is left.
        let _ = self.0.wait_for(|stop| *stop).await;
    }

    /// Whether a stop has been requested, without waiting.
    pub fn is_requested(&self) -> bool {
        *self.0.borrow()
    }

    /// Waits for `next` (a tick, a signal); `None` once a stop is
    /// requested instead, and at once if it already was.
    pub async fn until<T>(&mut self, next: impl Future<Output = T>) -> Option<T> {
        tokio::select! {
            biased;
            _ = self.requested() => None,
            value = next => Some(value),
        }
    }

    /// Waits for `next`; `false` when stopping.
    pub async fn wait(&mut self, next: impl Future) -> bool {
        self.until(next).await.is_some()
    }
}

/// The running jobs, by name.
pub struct Supervisor {
    stop: watch::Sender<bool>,
    running: Vec<(&'static str, JoinHandle<()>)>,
}

impl Default for Supervisor {
    fn default() -> Self {
        Self { stop: watch::Sender::new(false), running: Vec::new() }
    }
}

impl Supervisor {
    /// Starts `job`, handing it the stop signal.
    pub fn start<F>(&mut self, name: &'static str, job: impl FnOnce(Stop) -> F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let stop = Stop(self.stop.subscribe());
        self.running.push((name, tokio::spawn(job(stop))));
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.running.iter().map(|(name, _)| *name).collect()
    }

    /// Asks every job to stop and waits up to `grace` for all of them; the
    /// ones still running then are aborted, and named in the log.
    pub async fn stop(mut self, grace: Duration) {
        let _ = self.stop.send(true);
        let deadline = tokio::time::Instant::now() + grace;
        for (name, mut handle) in std::mem::take(&mut self.running) {
            if tokio::time::timeout_at(deadline, &mut handle).await.is_err() {
                tracing::warn!(job = name, "a background job did not stop within the grace period; aborted");
                handle.abort();
            }
        }
    }
}

/// Serving that ends early (an error) takes its jobs along.
impl Drop for Supervisor {
    fn drop(&mut self) {
        for (_, handle) in &self.running {
            handle.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn every_job_sees_the_stop_and_finishes_its_round() {
        let rounds = Arc::new(AtomicUsize::new(0));
        let mut jobs = Supervisor::default();
        for name in ["a", "b"] {
            let rounds = rounds.clone();
            jobs.start(name, |mut stop| async move {
                let mut tick = tokio::time::interval(Duration::from_millis(5));
                while stop.wait(tick.tick()).await {
                    rounds.fetch_add(1, Ordering::SeqCst);
                }
                rounds.fetch_add(1000, Ordering::SeqCst);
            });
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
        jobs.stop(Duration::from_secs(5)).await;
        assert!(rounds.load(Ordering::SeqCst) >= 2000, "both jobs left their loop themselves");
    }

    #[tokio::test]
    async fn a_job_that_ignores_the_stop_is_aborted_after_the_grace_period() {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let mut jobs = Supervisor::default();
        jobs.start("stubborn", |_stop| async move {
            let _tx = tx;
            std::future::pending::<()>().await;
        });
        jobs.stop(Duration::from_millis(20)).await;
        assert!(rx.await.is_err(), "the aborted job dropped what it held");
    }
}
