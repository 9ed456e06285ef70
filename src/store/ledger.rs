//! Appending to the ledger and reading it back.

use chrono::{DateTime, Utc};
use sqlx::{any::AnyRow, AnyConnection, Row};
use tally_events::{Actor, Envelope, Event};
use uuid::Uuid;

use super::{parse_timestamp, timestamp, StoreError};

/// Who and what caused the events of one command: the envelope fields shared by all of them.
#[derive(Debug, Clone)]
pub struct CommandMeta {
    pub tenant: String,
    pub actor: Actor,
    pub correlation_id: Uuid,
    pub causation_id: Option<Uuid>,
    pub idempotency_key: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
}

const ENVELOPE_COLUMNS: &str = "global_position, event_id, stream_id, stream_version, event_type, schema_version, \
     occurred_at, recorded_at, tenant, actor_principal, actor_role, correlation_id, causation_id, idempotency_key, \
     payload";

/// Events to append to one stream after its expected version.
pub struct Append<'a> {
    pub stream_id: &'a str,
    pub expected_version: i64,
    pub events: &'a [Event],
    pub meta: &'a CommandMeta,
}

/// Rows per multi-row INSERT: 14 binds each stays far below both databases' bind limits.
const ROWS_PER_INSERT: usize = 256;

/// Appends every item's events after its expected version, with as few statements as the bind limits allow. The
/// `events_stream_version` constraint makes a concurrent append to the same stream fail instead of interleaving.
/// Returns the envelopes of each item, in order.
pub async fn append_batch(conn: &mut AnyConnection, items: &[Append<'_>]) -> Result<Vec<Vec<Envelope>>, sqlx::Error> {
    let mut envelopes: Vec<Vec<Envelope>> = items
        .iter()
        .map(|item| {
            let meta = item.meta;
            item.events
                .iter()
                .enumerate()
                .map(|(offset, event)| Envelope {
                    event_id: Uuid::now_v7(),
                    stream_id: item.stream_id.to_owned(),
                    stream_version: item.expected_version + 1 + offset as i64,
                    global_position: 0,
                    event_type: event.event_type().to_owned(),
                    schema_version: event.schema_version(),
                    occurred_at: meta.occurred_at,
                    recorded_at: meta.recorded_at,
                    tenant: meta.tenant.clone(),
                    actor: meta.actor.clone(),
                    correlation_id: meta.correlation_id,
                    causation_id: meta.causation_id,
                    idempotency_key: meta.idempotency_key.clone(),
                    payload: event.payload_json(),
                })
                .collect()
        })
        .collect();
    let mut positions = std::collections::HashMap::new();
    let all: Vec<&Envelope> = envelopes.iter().flatten().collect();
    let marks = tally_projections::BindMarks::of(conn);
    for chunk in tally_projections::shaped_chunks(&all, ROWS_PER_INSERT) {
        let values: Vec<String> = (0..chunk.len()).map(|row| marks.row(row * 14 + 1, 14)).collect();
        let sql = format!(
            "INSERT INTO events (event_id, stream_id, stream_version, event_type, schema_version, occurred_at, \
             recorded_at, tenant, actor_principal, actor_role, correlation_id, causation_id, idempotency_key, payload) \
             VALUES {} RETURNING event_id, global_position",
            values.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for e in chunk {
            query = query
                .bind(e.event_id.to_string())
                .bind(e.stream_id.as_str())
                .bind(e.stream_version)
                .bind(e.event_type.as_str())
                .bind(e.schema_version as i32)
                .bind(timestamp(e.occurred_at))
                .bind(timestamp(e.recorded_at))
                .bind(e.tenant.as_str())
                .bind(e.actor.principal.as_str())
                .bind(e.actor.role.as_str())
                .bind(e.correlation_id.to_string())
                .bind(e.causation_id.map(|id| id.to_string()))
                .bind(e.idempotency_key.as_deref())
                .bind(e.payload.to_string());
        }
        for row in query.fetch_all(&mut *conn).await? {
            positions.insert(row.try_get::<String, _>(0)?, row.try_get::<i64, _>(1)?);
        }
    }
    for envelope in envelopes.iter_mut().flatten() {
        envelope.global_position = positions
            .get(&envelope.event_id.to_string())
            .copied()
            .ok_or_else(|| sqlx::Error::Protocol("an appended event returned no position".into()))?;
    }
    Ok(envelopes)
}

/// Appends `events` to one stream after `expected_version`.
pub async fn append(
    conn: &mut AnyConnection,
    stream_id: &str,
    expected_version: i64,
    events: &[Event],
    meta: &CommandMeta,
) -> Result<Vec<Envelope>, sqlx::Error> {
    let item = Append { stream_id, expected_version, events, meta };
    Ok(append_batch(conn, &[item]).await?.pop().unwrap_or_default())
}

/// The events of a stream after `after_version`, in order, with their versions.
pub async fn read_stream(
    conn: &mut AnyConnection,
    stream_id: &str,
    after_version: i64,
) -> Result<Vec<(i64, Event)>, StoreError> {
    let rows = sqlx::query(
        "SELECT stream_version, event_type, schema_version, payload FROM events \
         WHERE stream_id = $1 AND stream_version > $2 ORDER BY stream_version",
    )
    .bind(stream_id)
    .bind(after_version)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let version: i64 = row.try_get(0)?;
            let schema_version: i32 = row.try_get(2)?;
            let event = tally_events::decode_str(row.try_get(1)?, schema_version as u32, row.try_get(3)?)?;
            Ok((version, event))
        })
        .collect()
}

fn envelope_from_row(row: &AnyRow) -> Result<Envelope, StoreError> {
    let uuid = |text: String| Uuid::parse_str(&text).map_err(|e| sqlx::Error::Decode(Box::new(e)));
    let role: String = row.try_get("actor_role")?;
    let payload: String = row.try_get("payload")?;
    Ok(Envelope {
        global_position: row.try_get("global_position")?,
        event_id: uuid(row.try_get("event_id")?)?,
        stream_id: row.try_get("stream_id")?,
        stream_version: row.try_get("stream_version")?,
        event_type: row.try_get("event_type")?,
        schema_version: row.try_get::<i32, _>("schema_version")? as u32,
        occurred_at: parse_timestamp(row.try_get("occurred_at")?)?,
        recorded_at: parse_timestamp(row.try_get("recorded_at")?)?,
        tenant: row.try_get("tenant")?,
        actor: Actor { principal: row.try_get("actor_principal")?, role: super::stored_role(&role)? },
        correlation_id: uuid(row.try_get("correlation_id")?)?,
        causation_id: row.try_get::<Option<String>, _>("causation_id")?.map(uuid).transpose()?,
        idempotency_key: row.try_get("idempotency_key")?,
        payload: serde_json::from_str(&payload).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
    })
}

/// A page of a stream's envelopes after `after_version`, for statements.
pub async fn stream_page(
    conn: &mut AnyConnection,
    stream_id: &str,
    after_version: i64,
    limit: i64,
) -> Result<Vec<Envelope>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {ENVELOPE_COLUMNS} FROM events WHERE stream_id = $1 AND stream_version > $2 \
         ORDER BY stream_version LIMIT $3"
    ))
    .bind(stream_id)
    .bind(after_version)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(envelope_from_row).collect()
}

/// One event by its id.
pub async fn find_event(conn: &mut AnyConnection, event_id: Uuid) -> Result<Option<Envelope>, StoreError> {
    let row = sqlx::query(&format!("SELECT {ENVELOPE_COLUMNS} FROM events WHERE event_id = $1"))
        .bind(event_id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(envelope_from_row).transpose()
}

/// Up to `limit` envelopes after `after_position`, in global order: the next page for a ledger subscriber.
pub async fn read_after(
    conn: &mut AnyConnection,
    after_position: i64,
    limit: i64,
) -> Result<Vec<Envelope>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {ENVELOPE_COLUMNS} FROM events WHERE global_position > $1 ORDER BY global_position LIMIT $2"
    ))
    .bind(after_position)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(envelope_from_row).collect()
}

/// The position of the ledger's last event; 0 when the ledger is empty.
pub async fn end(conn: &mut AnyConnection) -> Result<i64, sqlx::Error> {
    let (last,): (Option<i64>,) =
        sqlx::query_as("SELECT MAX(global_position) FROM events").fetch_one(&mut *conn).await?;
    Ok(last.unwrap_or(0))
}
