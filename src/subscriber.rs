//! Ledger subscribers: named consumers of the ledger, each handling every event after its checkpoint in global order,
//! at least once, in one process at a time (the Kafka relay is one).
//!
//! A runner waits for the subscriber's lease (table `subscriptions`), reads the ledger after the checkpoint in pages,
//! hands each page to the subscriber, and moves the checkpoint past a page once the page's side effects are done,
//! strictly in ledger order. It renews the lease meanwhile; another process takes the subscriber over once the lease
//! lapses. A failed page is handed again after a pause, and so is every page after it: a subscriber must tolerate
//! seeing an event twice. Runners only read the ledger, so no side effect ever runs on the commit path. A subscriber
//! that issues commands builds them with [`crate::commands::Command::caused_by`], so that the events they append
//! name the event that caused them.
//!
//! Metrics, labelled `subscriber="<name>"`: `<prefix>_lag_events` (events after the checkpoint),
//! `<prefix>_lag_seconds` (age of the oldest of them), `<prefix>_errors_total` (runner restarts) and
//! `<prefix>_lease_held{holder}` (1 in the process that holds the lease), with the prefix `tally_subscriber` unless
//! the subscriber names its own.

use std::{collections::VecDeque, convert::Infallible, future::Future, pin::Pin, time::Duration};

use chrono::Utc;
use tally_events::Envelope;
use uuid::Uuid;

use crate::store::{ledger, subscriptions, Db, StoreError};

/// An error of a subscriber's own.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How often an idle runner looks for new events (it is woken at once by its own process's appends).
const POLL: Duration = Duration::from_millis(20);
/// The pause after a first error; it doubles with every further error until a page succeeds.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// Longest pause before trying again after an error.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Something that handles the ledger's events: give it a name, implement [`Subscriber::handle`], and spawn [`run`].
pub trait Subscriber: Send {
    /// The subscriber's name: its row in `subscriptions` and its `subscriber` label in the metrics. Runners with the
    /// same name, in any process on the database, share one checkpoint and one lease.
    fn name(&self) -> &str;

    /// The prefix of the runner's metric names. A subscriber names its own only to keep the names it had before it
    /// was one (the relay's `tally_relay_*`), so that dashboards and alerts keep working.
    fn metrics_prefix(&self) -> &'static str {
        "tally_subscriber"
    }

    /// Prepares to handle pages, once the lease is held; [`Subscriber::close`] undoes it. An error is retried after
    /// a pause.
    fn open(&mut self) -> impl Future<Output = Result<(), BoxError>> + Send {
        async { Ok(()) }
    }

    /// Handles a page: envelopes in global order, after the previous page's. Returns once the page's side effects are
    /// under way (ordered after the previous page's), with a [`Ticket`] that resolves when they are done. The runner
    /// keeps up to [`Options::pages_in_flight`] tickets pending, and moves the checkpoint past a page when its ticket
    /// and every earlier one resolved. On an error (from here or from a ticket) the runner starts again from the
    /// checkpoint after a pause: the page is handed again, and so are the later ones that were in flight.
    fn handle(&mut self, page: &[Envelope]) -> impl Future<Output = Result<Ticket, BoxError>> + Send;

    /// Called when the runner stops handling pages (the lease was lost or a page failed): the pending tickets were
    /// dropped and their pages will be handed again, so a subscriber drops what would still carry them out.
    fn close(&mut self) {}
}

/// The side effects of a page, under way: resolves once they are done.
pub struct Ticket(Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send>>);

impl Ticket {
    /// The side effects are done already.
    pub fn done() -> Ticket {
        Ticket::pending(async { Ok(()) })
    }

    /// The side effects are done when `done` resolves.
    pub fn pending(done: impl Future<Output = Result<(), BoxError>> + Send + 'static) -> Ticket {
        Ticket(Box::pin(done))
    }
}

/// How a runner holds its lease and reads the ledger.
#[derive(Debug, Clone)]
pub struct Options {
    /// This runner's identity in the lease; [`Options::default`] gives a fresh one (host, process id, random part).
    pub holder: String,
    /// How long the lease lasts without renewal; it is renewed every fifth of this, and a waiting runner tries to
    /// take it as often.
    pub lease: Duration,
    /// Envelopes per page, at most.
    pub page: i64,
    /// Pages whose tickets may be pending at once (at least one).
    pub pages_in_flight: usize,
}

impl Default for Options {
    fn default() -> Options {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "tally".into());
        let holder = format!("{host}-{}-{}", std::process::id(), &Uuid::new_v4().simple().to_string()[..8]);
        Options { holder, lease: Duration::from_secs(5), page: 1_000, pages_in_flight: 1 }
    }
}

impl Options {
    fn renew(&self) -> Duration {
        self.lease / 5
    }
}

#[derive(Debug, thiserror::Error)]
enum RunError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("{0}")]
    Subscriber(BoxError),
    #[error("the lease was lost to another process")]
    LeaseLost,
}

/// The runner's metrics. They are looked up at each use rather than once, because the process's recorder may be
/// installed after the runner started.
struct Metrics {
    prefix: &'static str,
    subscriber: String,
}

impl Metrics {
    fn gauge(&self, metric: &str) -> metrics::Gauge {
        metrics::gauge!(format!("{}_{metric}", self.prefix), "subscriber" => self.subscriber.clone())
    }

    fn lease_held(&self, holder: &str, held: bool) {
        let name = format!("{}_lease_held", self.prefix);
        let value = if held { 1.0 } else { 0.0 };
        metrics::gauge!(name, "subscriber" => self.subscriber.clone(), "holder" => holder.to_owned()).set(value);
    }

    fn error(&self) {
        metrics::counter!(format!("{}_errors_total", self.prefix), "subscriber" => self.subscriber.clone())
            .increment(1);
    }
}

/// Runs `subscriber` for as long as the task lives: waits for its lease, handles pages while holding it, and starts
/// over after errors with a growing pause. Aborting the task stops everything it runs; the lease then lapses.
pub async fn run<S: Subscriber>(db: Db, mut subscriber: S, options: Options) {
    let name = subscriber.name().to_owned();
    let metrics = Metrics { prefix: subscriber.metrics_prefix(), subscriber: name.clone() };
    let mut backoff = FIRST_BACKOFF;
    loop {
        let error = hold_and_handle(&db, &mut subscriber, &name, &options, &metrics, &mut backoff).await;
        metrics.error();
        tracing::warn!(subscriber = %name, %error, retry_in = ?backoff, "subscriber stopped; it will start again");
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Waits for the lease, then handles pages until the lease is lost or an error stops it.
async fn hold_and_handle<S: Subscriber>(
    db: &Db,
    subscriber: &mut S,
    name: &str,
    options: &Options,
    metrics: &Metrics,
    backoff: &mut Duration,
) -> RunError {
    let holder = options.holder.as_str();
    let waited = async {
        subscriptions::register(db, name).await?;
        while !subscriptions::take_lease(db, name, holder, options.lease).await? {
            tokio::time::sleep(options.renew()).await;
        }
        Ok::<_, sqlx::Error>(())
    };
    if let Err(error) = waited.await {
        return error.into();
    }
    tracing::info!(subscriber = %name, %holder, "this process holds the subscriber's lease");
    metrics.lease_held(holder, true);
    // The lease is renewed in this task rather than a spawned one, so that aborting the runner stops the renewals.
    let Err(error) = tokio::select! {
        handled = handle_pages(db, subscriber, name, options, backoff) => handled,
        lost = keep_lease(db, name, options, metrics) => Err(lost),
    };
    subscriber.close();
    metrics.lease_held(holder, false);
    error
}

/// Renews the lease and measures the lag every fifth of the lease; returns when the lease is lost.
async fn keep_lease(db: &Db, name: &str, options: &Options, metrics: &Metrics) -> RunError {
    let mut ticks = tokio::time::interval(options.renew());
    loop {
        ticks.tick().await;
        match subscriptions::take_lease(db, name, &options.holder, options.lease).await {
            Ok(true) => {}
            Ok(false) => return RunError::LeaseLost,
            // The lease may still be ours: the next tick tries again, and a lost lease shows then or at the next
            // checkpoint.
            Err(error) => tracing::warn!(subscriber = %name, %error, "could not renew the lease; trying again"),
        }
        match subscriptions::lag(db, name).await {
            Ok(lag) => {
                let age = lag.oldest.map_or(0.0, |oldest| (Utc::now() - oldest).num_milliseconds() as f64 / 1000.0);
                metrics.gauge("lag_events").set(lag.events as f64);
                metrics.gauge("lag_seconds").set(age.max(0.0));
            }
            Err(error) => tracing::warn!(subscriber = %name, %error, "could not measure the lag"),
        }
    }
}

/// Hands the pages after the checkpoint to the subscriber, keeping up to `pages_in_flight` tickets pending, and moves
/// the checkpoint page by page as they resolve, oldest first. Returns only with an error.
async fn handle_pages<S: Subscriber>(
    db: &Db,
    subscriber: &mut S,
    name: &str,
    options: &Options,
    backoff: &mut Duration,
) -> Result<Infallible, RunError> {
    subscriber.open().await.map_err(RunError::Subscriber)?;
    let mut next_after = subscriptions::checkpoint(db, name).await?;
    let mut in_flight: VecDeque<(i64, Ticket)> = VecDeque::new();
    loop {
        if in_flight.len() < options.pages_in_flight.max(1) {
            let page = ledger::read_after(&mut *db.read.acquire().await?, next_after, options.page).await?;
            if let Some(last) = page.last() {
                next_after = last.global_position;
                let ticket = subscriber.handle(&page).await.map_err(RunError::Subscriber)?;
                in_flight.push_back((next_after, ticket));
                continue;
            }
        }
        match in_flight.pop_front() {
            Some((position, Ticket(done))) => {
                done.await.map_err(RunError::Subscriber)?;
                if !subscriptions::advance(db, name, &options.holder, position).await? {
                    return Err(RunError::LeaseLost);
                }
                *backoff = FIRST_BACKOFF;
            }
            None => {
                // New events of this process wake the runner at once; other processes' are found by the poll.
                let _ = tokio::time::timeout(POLL, db.appended.notified()).await;
            }
        }
    }
}
