//! Ledger subscribers: the commands a subscriber issues name the event that caused them, a runner resumes from the
//! checkpoint after a stop and hands a failed page again, and one runner at a time holds a subscriber's lease. On
//! SQLite, or on PostgreSQL when `TALLY_TEST_DATABASE_URL` is set.

mod common;

use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use common::Core;
use tally::{
    commands::{Command, Executor, Outcome, Stream, Target},
    domain::card::{CardAggregate, CardCommand},
    store::{ledger, subscriptions, Db},
    subscriber::{self, BoxError, Options, Subscriber, Ticket},
};
use tally_events::{Actor, CardCategory, CardType, Envelope, Event, Role};
use tokio::task::JoinHandle;

fn actor() -> Actor {
    Actor { principal: "subscriber-test".into(), role: Role::System }
}

/// Registers `count` cards numbered from `first`, one command (and one correlation) per card when `one_by_one`,
/// else in one command.
async fn register_cards(app: &Core, first: usize, count: usize, one_by_one: bool) {
    let card = |n: usize| CardCommand::Register {
        number: format!("6{n:012}"),
        category: CardCategory::Virtual,
        card_type: CardType::Bonus,
    };
    let target = |n: usize| CardAggregate::target(format!("6{n:012}"), card(n));
    let targets: Vec<Target> = if one_by_one {
        (first..first + count).map(target).collect()
    } else {
        vec![Target::all((first..first + count).map(target))]
    };
    for target in targets {
        let outcome = app.executor.execute(Command::new(common::TENANT, actor(), target)).await.unwrap();
        assert!(matches!(outcome, Outcome::Executed { result: Ok(_), .. }), "{outcome:?}");
    }
}

/// Options for a test runner: a short lease, so that a takeover is quick.
fn options(holder: &str, page: i64, pages_in_flight: usize) -> Options {
    Options { holder: holder.into(), lease: Duration::from_secs(1), page, pages_in_flight }
}

/// Waits until subscriber `name` has handled the whole ledger; returns the ledger's end.
async fn caught_up(db: &Db, name: &str, within: Duration) -> i64 {
    let deadline = Instant::now() + within;
    loop {
        let (checkpoint, end) = subscriptions::progress(db, name).await.unwrap();
        if checkpoint == end {
            return end;
        }
        assert!(Instant::now() < deadline, "{name} is stuck at {checkpoint} of {end}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Issues every registered card: a subscriber with side effects on the ledger itself.
struct Issuer {
    executor: Executor,
}

impl Subscriber for Issuer {
    fn name(&self) -> &str {
        "card-issuer"
    }

    async fn handle(&mut self, page: &[Envelope]) -> Result<Ticket, BoxError> {
        for envelope in page {
            if let Event::CardRegistered(registered) = envelope.event()? {
                let target = CardAggregate::target(registered.number, CardCommand::Issue);
                let command = Command::new(&envelope.tenant, actor(), target).caused_by(envelope);
                // A page handed again issues again: the card refuses, which is as good as done.
                self.executor.execute(command).await?;
            }
        }
        Ok(Ticket::done())
    }
}

#[tokio::test]
async fn commands_a_subscriber_issues_name_their_cause() {
    let (app, _) = common::core_app().await;
    register_cards(&app, 0, 3, true).await;
    let runner = tokio::spawn(subscriber::run(
        app.db.clone(),
        Issuer { executor: app.executor.clone() },
        options("issuer", 100, 1),
    ));
    let deadline = Instant::now() + Duration::from_secs(5);
    let issued = loop {
        let ledger = ledger::read_after(&mut app.db.read.acquire().await.unwrap(), 0, 100).await.unwrap();
        let issued: Vec<Envelope> = ledger.into_iter().filter(|e| e.event_type == "CardIssued").collect();
        if issued.len() == 3 {
            break issued;
        }
        assert!(Instant::now() < deadline, "{} of 3 cards issued", issued.len());
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    caught_up(&app.db, "card-issuer", Duration::from_secs(5)).await;
    runner.abort();
    let mut correlations = BTreeSet::new();
    for effect in issued {
        let cause_id = effect.causation_id.expect("a causation id");
        let cause = ledger::find_event(&mut app.db.read.acquire().await.unwrap(), cause_id).await.unwrap();
        let cause = cause.expect("the cause is in the ledger");
        assert_eq!(cause.event_type, "CardRegistered");
        assert_eq!(cause.stream_id, effect.stream_id, "the card's own registration");
        assert_eq!(effect.correlation_id, cause.correlation_id, "the effect joins its cause's correlation");
        correlations.insert(effect.correlation_id);
    }
    assert_eq!(correlations.len(), 3, "each card's registration is a correlation of its own");
}

/// A page as a [`Recorder`] got it.
#[derive(Debug, Clone)]
struct Page {
    runner: &'static str,
    positions: Vec<i64>,
    started: Instant,
    ended: Instant,
    failed: bool,
}

/// Records every page it is handed, taking `pace` to handle one and as long again until its ticket resolves; fails
/// the first time it gets the page holding position `fail_once_at`.
struct Recorder {
    runner: &'static str,
    pages: Arc<Mutex<Vec<Page>>>,
    pace: Duration,
    fail_once_at: Option<i64>,
}

const RECORDER: &str = "recorder";

impl Subscriber for Recorder {
    fn name(&self) -> &str {
        RECORDER
    }

    async fn handle(&mut self, page: &[Envelope]) -> Result<Ticket, BoxError> {
        let started = Instant::now();
        tokio::time::sleep(self.pace).await;
        let positions: Vec<i64> = page.iter().map(|e| e.global_position).collect();
        let failed = self.fail_once_at.is_some_and(|at| positions.contains(&at));
        if failed {
            self.fail_once_at = None;
        }
        let ended = Instant::now();
        self.pages.lock().unwrap().push(Page { runner: self.runner, positions, started, ended, failed });
        if failed {
            return Err("this page fails once".into());
        }
        let pace = self.pace;
        Ok(Ticket::pending(async move {
            tokio::time::sleep(pace).await;
            Ok(())
        }))
    }
}

/// Starts a [`Recorder`] runner as `runner`, recording into `pages`.
fn record(
    db: &Db,
    runner: &'static str,
    pages: &Arc<Mutex<Vec<Page>>>,
    options: Options,
    fail_once_at: Option<i64>,
) -> JoinHandle<()> {
    let recorder = Recorder { runner, pages: pages.clone(), pace: Duration::from_millis(10), fail_once_at };
    tokio::spawn(subscriber::run(db.clone(), recorder, options))
}

/// Every position handled successfully, at least once.
fn handled(pages: &Mutex<Vec<Page>>) -> BTreeSet<i64> {
    pages.lock().unwrap().iter().filter(|page| !page.failed).flat_map(|page| page.positions.clone()).collect()
}

#[tokio::test]
async fn a_stopped_runner_resumes_from_the_checkpoint() {
    let (app, _) = common::core_app().await;
    register_cards(&app, 0, 400, false).await;
    let pages = Arc::new(Mutex::new(Vec::new()));
    let first = record(&app.db, "first", &pages, options("first", 20, 3), None);
    let deadline = Instant::now() + Duration::from_secs(5);
    while handled(&pages).len() < 100 {
        assert!(Instant::now() < deadline, "the first runner handles pages");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    first.abort();
    let (stopped_at, end) = subscriptions::progress(&app.db, RECORDER).await.unwrap();
    assert!(stopped_at > 0 && stopped_at < end, "stopped midway: {stopped_at} of {end}");

    // A runner of another process: it takes over once the first one's lease lapsed, from the checkpoint on.
    let second = record(&app.db, "second", &pages, options("second", 20, 3), None);
    let end = caught_up(&app.db, RECORDER, Duration::from_secs(8)).await;
    second.abort();
    assert_eq!(handled(&pages), (1..=end).collect(), "every event handled");
    let pages = pages.lock().unwrap();
    let resumed = pages.iter().find(|page| page.runner == "second").expect("the second runner handled pages");
    assert_eq!(resumed.positions[0], stopped_at + 1, "the second runner starts after the checkpoint");
}

#[tokio::test]
async fn a_failed_page_is_handed_again() {
    let (app, _) = common::core_app().await;
    register_cards(&app, 0, 100, false).await;
    let pages = Arc::new(Mutex::new(Vec::new()));
    let runner = record(&app.db, "only", &pages, options("only", 10, 2), Some(35));
    let end = caught_up(&app.db, RECORDER, Duration::from_secs(5)).await;
    runner.abort();
    assert_eq!(handled(&pages), (1..=end).collect(), "every event handled");
    let pages = pages.lock().unwrap();
    let failed: Vec<&Page> = pages.iter().filter(|page| page.failed).collect();
    assert_eq!(failed.len(), 1, "one page failed");
    let after: Vec<&Page> = pages.iter().filter(|page| page.started > failed[0].ended).collect();
    // The runner starts again from the checkpoint, which may be before the failed page when pages were in flight.
    assert!(after[0].positions[0] <= failed[0].positions[0], "the runner starts again from the checkpoint");
    assert!(after.iter().any(|page| page.positions == failed[0].positions), "the failed page is handed again");
}

#[tokio::test]
async fn one_runner_holds_the_lease_and_another_takes_over_when_it_stops() {
    let (app, _) = common::core_app().await;
    register_cards(&app, 0, 200, false).await;
    let pages = Arc::new(Mutex::new(Vec::new()));
    let a = record(&app.db, "a", &pages, options("a", 20, 1), None);
    let b = record(&app.db, "b", &pages, options("b", 20, 1), None);
    caught_up(&app.db, RECORDER, Duration::from_secs(5)).await;
    // Both runners poll for a while with nothing to do: the one without the lease keeps away.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let holders: BTreeSet<&str> = pages.lock().unwrap().iter().map(|page| page.runner).collect();
    assert_eq!(holders.len(), 1, "one runner handled everything: {holders:?}");
    let holder = *holders.first().unwrap();
    let (stopped, standby) = if holder == "a" { (a, b) } else { (b, a) };
    stopped.abort();
    let aborted_at = Instant::now();
    register_cards(&app, 200, 100, false).await;
    let end = caught_up(&app.db, RECORDER, Duration::from_secs(8)).await;
    standby.abort();

    assert_eq!(handled(&pages), (1..=end).collect(), "every event handled");
    let mut pages = pages.lock().unwrap().clone();
    pages.sort_by_key(|page| page.started);
    for pair in pages.windows(2) {
        assert!(pair[1].started >= pair[0].ended, "one page at a time: {pair:?}");
    }
    let taken_over = pages.iter().find(|page| page.runner != holder).expect("the other runner took over");
    let waited = taken_over.started - aborted_at;
    // The lease (1 s) was renewed at most a fifth of it before the stop; the other runner tries every fifth.
    assert!(waited >= Duration::from_millis(700), "the other runner waited for the lease to lapse ({waited:?})");
    assert!(waited < Duration::from_secs(3), "and took over soon after ({waited:?})");
}
