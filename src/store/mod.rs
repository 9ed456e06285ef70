//! The store: the SQL ledger on SQLite (embedded default) or PostgreSQL (scale-out), chosen by the URL's scheme.
//! Both run the same queries through `sqlx::Any`; only migrations and the append lock differ by dialect.

pub mod attachments;
pub mod documents;
pub mod follow;
pub mod idempotency;
pub mod ledger;
pub mod merchants;
mod sealing;
pub mod staff;
pub mod subscriptions;
pub mod tokens;

use std::{path::Path, sync::Arc, time::Duration};

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::{any::AnyPoolOptions, migrate::Migrator, Any, AnyPool, Executor, Transaction};
use tally_projections::rebuild::{self, RebuildError, RebuildReport};
use tokio::sync::Notify;

use crate::vault::KeyRing;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Key of the PostgreSQL advisory lock that appends hold (so that global positions follow commit order) and that a
/// rebuild takes to see a ledger nobody is appending to.
const APPEND_LOCK: i64 = 0x7a11_1ed9;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// The database: a pool for reads and a pool for the command writer.
#[derive(Clone)]
pub struct Db {
    pub read: AnyPool,
    pub write: AnyPool,
    pub dialect: Dialect,
    /// Woken whenever this process's writer commits events: ledger subscribers wait on it rather than only polling
    /// (events other processes append are found by polling).
    pub appended: Arc<Notify>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("a stored event cannot be decoded: {0}")]
    Decode(#[from] tally_events::DecodeError),
    #[error("unsupported database URL {0:?}: use sqlite://path or postgres://…")]
    UnsupportedUrl(String),
    #[error("the command writer is not running")]
    WriterStopped,
    #[error("the stream kept changing under concurrent writers; the command was not applied")]
    Contention,
    #[error("rebuilding the views failed: {0}")]
    Rebuild(#[from] RebuildError),
}

impl Db {
    /// Connects, creating the SQLite file (and its folder) when missing, and runs the migrations.
    pub async fn connect(url: &str) -> Result<Db, StoreError> {
        sqlx::any::install_default_drivers();
        let db = if let Some(path) = url.strip_prefix("sqlite://") {
            let file = path.split('?').next().unwrap_or(path);
            if let Some(dir) = Path::new(file).parent().filter(|dir| !dir.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
            }
            let url = if url.contains('?') { url.to_owned() } else { format!("{url}?mode=rwc") };
            // WAL with synchronous=FULL: every commit is durable once it returns. One writer connection, because
            // SQLite has one writer anyway and the command writer batches commits (group commit).
            let pragmas = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000; \
                           PRAGMA foreign_keys = ON;";
            let options = || {
                AnyPoolOptions::new().after_connect(move |conn, _| {
                    Box::pin(async move {
                        conn.execute(pragmas).await?;
                        Ok(())
                    })
                })
            };
            let write = options().max_connections(1).connect(&url).await?;
            let read = options().max_connections(4).connect(&url).await?;
            Db { read, write, dialect: Dialect::Sqlite, appended: Arc::default() }
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool =
                AnyPoolOptions::new().max_connections(16).acquire_timeout(Duration::from_secs(10)).connect(url).await?;
            Db { read: pool.clone(), write: pool, dialect: Dialect::Postgres, appended: Arc::default() }
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        };
        db.migrate().await?;
        sealing::seal_clear_contacts(&db).await?;
        db.fill_new_view_columns().await?;
        Ok(db)
    }

    /// Fills what a migration added to the views (the contact name keys) by rebuilding them, once: when rows written
    /// before the migration lack it.
    async fn fill_new_view_columns(&self) -> Result<(), StoreError> {
        let unfilled =
            sqlx::query("SELECT 1 FROM contact_view WHERE name_key IS NULL LIMIT 1").fetch_optional(&self.read);
        if unfilled.await?.is_some() {
            tracing::info!("filling the contact name keys: rebuilding the views once");
            self.rebuild_views().await?;
        }
        Ok(())
    }

    /// Applies pending migrations; safe to call from several instances at once (sqlx takes a lock).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self.dialect {
            Dialect::Sqlite => SQLITE_MIGRATIONS.run(&self.write).await?,
            Dialect::Postgres => POSTGRES_MIGRATIONS.run(&self.write).await?,
        }
        Ok(())
    }

    /// Takes SQLite's WAL checkpoints off the commit path: the writer stops checkpointing on commit, and a task
    /// checkpoints every second from a read connection (PASSIVE: it never blocks the writer). For `serve` only;
    /// short-lived commands keep SQLite's automatic checkpoints.
    pub async fn checkpoint_in_background(&self) -> Result<(), StoreError> {
        if self.dialect != Dialect::Sqlite {
            return Ok(());
        }
        sqlx::query("PRAGMA wal_autocheckpoint = 0").execute(&self.write).await?;
        let read = self.read.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(Duration::from_secs(1));
            loop {
                ticks.tick().await;
                if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&read).await {
                    tracing::warn!(%error, "WAL checkpoint failed; it will be tried again");
                }
            }
        });
        Ok(())
    }

    /// A write transaction that holds the ledger's append lock: on PostgreSQL an advisory lock, so that appends from
    /// several instances commit in global position order. On SQLite it takes the file's write lock at once
    /// (`BEGIN IMMEDIATE`): a transaction that read first and wrote later would fail, rather than wait, when another
    /// process (a tool, a relay beside the service) wrote in between.
    pub async fn begin_append(&self) -> Result<Transaction<'static, Any>, sqlx::Error> {
        match self.dialect {
            Dialect::Sqlite => self.write.begin_with("BEGIN IMMEDIATE").await,
            Dialect::Postgres => {
                let mut tx = self.write.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(APPEND_LOCK).execute(&mut *tx).await?;
                Ok(tx)
            }
        }
    }

    /// Drops the read models and replays the ledger into them, while the service may be running (see
    /// [`rebuild::rebuild`]): the final catch-up and the swap happen under the append lock.
    pub async fn rebuild_views(&self) -> Result<RebuildReport, RebuildError> {
        let keys = KeyRing::all(&mut *self.read.acquire().await?).await?;
        let mut tx = self.begin_append().await?;
        let report = rebuild::rebuild(&self.read, &mut tx, &keys).await?;
        tx.commit().await?;
        Ok(report)
    }

    /// Whether this process is the only writer, so cached stream states need no catch-up read. True for SQLite
    /// (one process owns the file); PostgreSQL may have several instances.
    pub fn exclusive_writer(&self) -> bool {
        self.dialect == Dialect::Sqlite
    }
}

/// A fresh id of 24 hexadecimal digits, as Footprints' ids are: the milliseconds since the epoch (so that ids sort
/// in creation order) and 48 random bits.
pub fn object_id() -> String {
    let uuid = uuid::Uuid::now_v7().simple().to_string();
    format!("{}{}", &uuid[..12], &uuid[20..])
}

/// A role as stored (its wire name).
pub fn stored_role(name: &str) -> Result<tally_events::Role, sqlx::Error> {
    tally_events::Role::parse(name).ok_or_else(|| sqlx::Error::Decode(format!("unknown role {name}").into()))
}

/// Bytes as lowercase hexadecimal (digests, tokens, keys of records).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Timestamps are stored as fixed-width RFC 3339 UTC text (microseconds, `Z`), which sorts in time order on both
/// databases.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, sqlx::Error> {
    DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// The named constraint a database error violated: PostgreSQL names it; SQLite names the columns.
pub fn violated_constraint(error: &sqlx::Error) -> Option<&'static str> {
    const KNOWN: [(&str, &str); 7] = [
        ("events_stream_version", "events.stream_id, events.stream_version"),
        ("card_view_one_live_card", "card_view.tenant, card_view.live_contact_id"),
        ("contact_view_code", "contact_view.tenant, contact_view.code"),
        ("contact_view_mobile", "contact_view.tenant, contact_view.mobile_number"),
        ("idempotency_pkey", "idempotency.principal, idempotency.key"),
        ("staff_members_username", "staff_members.tenant, staff_members.username"),
        ("staff_members_pin", "staff_members.tenant, staff_members.pin_hash"),
    ];
    let db = error.as_database_error()?;
    let name = db.constraint();
    let message = db.message();
    KNOWN
        .iter()
        .find(|(constraint, columns)| name == Some(*constraint) || message.contains(columns))
        .map(|(constraint, _)| *constraint)
}
