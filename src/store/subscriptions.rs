//! Subscriptions: each ledger subscriber's checkpoint and lease (table `subscriptions`, one row per subscriber name).
//!
//! The checkpoint is the global position up to which the subscriber has handled the ledger; it only moves forward,
//! and only for the process holding the lease. A lease runs until `lease_until` unless its holder renews it; once it
//! has lapsed, any process may take it. Lease times come from each process's clock.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{ledger, parse_timestamp, timestamp, Db};

/// What a subscriber has yet to handle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lag {
    /// Events after the checkpoint.
    pub events: i64,
    /// When the oldest of them was recorded; none when there are none.
    pub oldest: Option<DateTime<Utc>>,
}

/// Adds the subscriber's row, at the start of the ledger and with no holder, unless it exists.
pub async fn register(db: &Db, name: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO subscriptions (name, position, holder, lease_until) VALUES ($1, 0, '', '') \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .execute(&db.write)
    .await?;
    Ok(())
}

/// Takes the lease of subscriber `name` for `holder` for `lease` from now when it is free or has lapsed, or renews it
/// when `holder` has it. True when `holder` holds it now.
pub async fn take_lease(db: &Db, name: &str, holder: &str, lease: Duration) -> Result<bool, sqlx::Error> {
    let now = Utc::now();
    let until = now + chrono::Duration::from_std(lease).expect("a lease fits in chrono's range");
    let taken = sqlx::query(
        "UPDATE subscriptions SET holder = $1, lease_until = $2 \
         WHERE name = $3 AND (holder = $1 OR lease_until < $4)",
    )
    .bind(holder)
    .bind(timestamp(until))
    .bind(name)
    .bind(timestamp(now))
    .execute(&db.write)
    .await?;
    Ok(taken.rows_affected() == 1)
}

/// The subscriber's checkpoint: 0 when it has none yet.
pub async fn checkpoint(db: &Db, name: &str) -> Result<i64, sqlx::Error> {
    let position: Option<(i64,)> = sqlx::query_as("SELECT position FROM subscriptions WHERE name = $1")
        .bind(name)
        .fetch_optional(&db.read)
        .await?;
    Ok(position.map_or(0, |(position,)| position))
}

/// Moves the checkpoint forward to `position` if `holder` still holds the lease. False, and nothing moved, when it
/// does not (another process took the lease over) or when the checkpoint is at `position` or past it already.
pub async fn advance(db: &Db, name: &str, holder: &str, position: i64) -> Result<bool, sqlx::Error> {
    let moved = sqlx::query("UPDATE subscriptions SET position = $1 WHERE name = $2 AND holder = $3 AND position < $1")
        .bind(position)
        .bind(name)
        .bind(holder)
        .execute(&db.write)
        .await?;
    Ok(moved.rows_affected() == 1)
}

/// How far the subscriber is: its checkpoint and the ledger's last position (equal when it has handled everything).
pub async fn progress(db: &Db, name: &str) -> Result<(i64, i64), sqlx::Error> {
    let position = checkpoint(db, name).await?;
    let end = ledger::end(&mut *db.read.acquire().await?).await?;
    Ok((position, end))
}

/// What the subscriber has yet to handle: how many events, and since when.
pub async fn lag(db: &Db, name: &str) -> Result<Lag, sqlx::Error> {
    let (position, end) = progress(db, name).await?;
    let oldest: Option<(String,)> =
        sqlx::query_as("SELECT recorded_at FROM events WHERE global_position > $1 ORDER BY global_position LIMIT 1")
            .bind(position)
            .fetch_optional(&db.read)
            .await?;
    Ok(Lag {
        events: (end - position).max(0),
        oldest: oldest.map(|(recorded_at,)| parse_timestamp(&recorded_at)).transpose()?,
    })
}
