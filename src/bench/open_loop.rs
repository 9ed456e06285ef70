//! The open-loop mode of the bench (`--open-loop`): requests arrive at a fixed rate whatever the server's pace, and
//! each one's latency runs from its scheduled start, so a stall shows in every request that should have been sent
//! during it (no coordinated omission). Run at fractions of the closed loop's measured maximum.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;

use super::{Figures, HttpClient, RequestMaker};

/// Requests in flight at most: past this the server is not keeping up, and further arrivals count as failed rather
/// than queueing without bound in the load generator.
const MAX_IN_FLIGHT: usize = 20_000;

/// Sends `make`'s requests at `rate` per second for `seconds`, spread over `workers` request sequences (request `i`
/// is worker `i % workers`'s `i / workers`-th), each timed from its scheduled start.
pub async fn drive(make: RequestMaker, workers: usize, rate: f64, seconds: u64) -> Figures {
    let client: HttpClient = Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let interval = Duration::from_secs_f64(1.0 / rate.max(1.0));
    let total = (rate * seconds as f64) as usize;
    let results = Arc::new(Mutex::new((Vec::with_capacity(total), 0usize)));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..total {
        let scheduled = started + interval * i as u32;
        tokio::time::sleep_until(scheduled.into()).await;
        if in_flight.load(Ordering::Relaxed) >= MAX_IN_FLIGHT {
            results.lock().expect("results").1 += 1;
            continue;
        }
        in_flight.fetch_add(1, Ordering::Relaxed);
        let (client, request) = (client.clone(), make(i % workers, i / workers));
        let (results, in_flight) = (results.clone(), in_flight.clone());
        tasks.spawn(async move {
            let ok = match client.request(request).await {
                Ok(response) => {
                    let success = response.status().is_success();
                    response.into_body().collect().await.is_ok() && success
                }
                Err(_) => false,
            };
            let latency = scheduled.elapsed();
            in_flight.fetch_sub(1, Ordering::Relaxed);
            let mut results = results.lock().expect("results");
            if ok {
                results.0.push(latency);
            } else {
                results.1 += 1;
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let elapsed = started.elapsed();
    let (mut latencies, errors) = std::mem::take(&mut *results.lock().expect("results"));
    latencies.sort_unstable();
    Figures { elapsed, latencies, errors, results: Default::default() }
}

/// The shares of the closed loop's maximum the open loop runs at.
pub const SHARES: [f64; 3] = [0.25, 0.50, 0.75];

/// Runs the open loop at each of [`SHARES`] of `max` requests per second, the k-th run with `make(k)`'s requests,
/// and prints each run's figures.
pub async fn report(make: impl Fn(usize) -> RequestMaker, workers: usize, max: f64, seconds: u64) {
    for (run, share) in SHARES.into_iter().enumerate() {
        let rate = max * share;
        let figures = drive(make(run), workers, rate, seconds).await;
        figures.print(&format!("open {:>2.0}%", share * 100.0));
    }
}
