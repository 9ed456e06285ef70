//! The projection runner's bookkeeping (tables `follow_offsets` and `follow_streams`): per Kafka partition the next
//! offset to apply, per stream the last applied version. Read and written inside the transaction that applies a batch
//! to the read models, so that they always describe what the read models hold.

use sqlx::AnyConnection;

/// The stored next offset of a partition; none before its first batch.
pub async fn next_offset(conn: &mut AnyConnection, topic: &str, partition: i32) -> Result<Option<i64>, sqlx::Error> {
    let stored: Option<(i64,)> =
        sqlx::query_as("SELECT next_offset FROM follow_offsets WHERE topic = $1 AND partition_id = $2")
            .bind(topic)
            .bind(partition)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(stored.map(|(offset,)| offset))
}

/// Moves a partition's next offset from `stored` (as [`next_offset`] read it) to `next`. False, and nothing written,
/// when another runner moved it meanwhile: a compare-and-set, so that two runners owning the same partition for a
/// moment during a rebalance cannot both apply it.
pub async fn move_offset(
    conn: &mut AnyConnection,
    topic: &str,
    partition: i32,
    stored: Option<i64>,
    next: i64,
) -> Result<bool, sqlx::Error> {
    let moved = match stored {
        Some(stored) => sqlx::query(
            "UPDATE follow_offsets SET next_offset = $1 WHERE topic = $2 AND partition_id = $3 AND next_offset = $4",
        )
        .bind(next)
        .bind(topic)
        .bind(partition)
        .bind(stored)
        .execute(&mut *conn)
        .await?
        .rows_affected(),
        None => sqlx::query(
            "INSERT INTO follow_offsets (topic, partition_id, next_offset) VALUES ($1, $2, $3) \
             ON CONFLICT (topic, partition_id) DO NOTHING",
        )
        .bind(topic)
        .bind(partition)
        .bind(next)
        .execute(&mut *conn)
        .await?
        .rows_affected(),
    };
    Ok(moved == 1)
}

/// The last applied version of a stream; none before its first event.
pub async fn stream_version(conn: &mut AnyConnection, stream_id: &str) -> Result<Option<i64>, sqlx::Error> {
    let stored: Option<(i64,)> = sqlx::query_as("SELECT version FROM follow_streams WHERE stream_id = $1")
        .bind(stream_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(stored.map(|(version,)| version))
}

/// Stores the last applied version of a stream.
pub async fn save_stream_version(conn: &mut AnyConnection, stream_id: &str, version: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO follow_streams (stream_id, version) VALUES ($1, $2) \
         ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version",
    )
    .bind(stream_id)
    .bind(version)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
