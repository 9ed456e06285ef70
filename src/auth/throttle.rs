//! Throttling of guesses: after [`MAX_FAILURES`] wrong PINs or passwords for one key (an application's PIN pad, a
//! username) within [`WINDOW`], further attempts on that key are refused unchecked until the window has passed. The
//! count is kept in the database (`sign_in_failures`), so it holds across every instance serving it: behind a load
//! balancer a guesser gets no more tries than against one instance.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::store::{parse_timestamp, timestamp, Db, StoreError};

/// Wrong attempts allowed per key and window.
pub const MAX_FAILURES: i64 = 5;
/// How long wrong attempts are remembered, and how long a throttled key waits.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

fn window() -> chrono::Duration {
    chrono::Duration::from_std(WINDOW).expect("the window fits")
}

/// How long a key with `failures` wrong attempts since `since` must wait at `now`, if it is throttled.
pub fn verdict(failures: i64, since: DateTime<Utc>, now: DateTime<Utc>) -> Option<Duration> {
    let elapsed = now - since;
    (failures >= MAX_FAILURES && elapsed < window()).then(|| (window() - elapsed).to_std().unwrap_or_default())
}

/// How long `key` must wait before it may be tried again, if it is throttled now.
pub async fn wait(db: &Db, key: &str, now: DateTime<Utc>) -> Result<Option<Duration>, StoreError> {
    let row = sqlx::query("SELECT failures, window_start FROM sign_in_failures WHERE throttle_key = $1")
        .bind(key)
        .fetch_optional(&db.read)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let since: String = row.try_get(1)?;
    Ok(verdict(row.try_get(0)?, parse_timestamp(&since)?, now))
}

/// Counts a wrong attempt on `key` (a new window when the last one has passed), and forgets lapsed windows.
pub async fn failed(db: &Db, key: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
    let lapsed = timestamp(now - window());
    sqlx::query("DELETE FROM sign_in_failures WHERE window_start < $1").bind(&lapsed).execute(&db.write).await?;
    sqlx::query(
        "INSERT INTO sign_in_failures (throttle_key, failures, window_start) VALUES ($1, 1, $2) \
         ON CONFLICT (throttle_key) DO UPDATE SET failures = sign_in_failures.failures + 1",
    )
    .bind(key)
    .bind(timestamp(now))
    .execute(&db.write)
    .await?;
    Ok(())
}

/// Forgets the wrong attempts on `key` (after a right one).
pub async fn succeeded(db: &Db, key: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM sign_in_failures WHERE throttle_key = $1").bind(key).execute(&db.write).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_throttled_after_five_failures_until_the_window_passes() {
        let start = Utc::now();
        assert_eq!(verdict(MAX_FAILURES - 1, start, start), None);
        let minute = chrono::Duration::minutes(1);
        assert_eq!(verdict(MAX_FAILURES, start, start + minute), Some(WINDOW - Duration::from_secs(60)));
        assert_eq!(verdict(MAX_FAILURES, start, start + window()), None);
    }
}
