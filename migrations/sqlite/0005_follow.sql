-- The projection runner (`tally projections follow`), in a database of its own: the next Kafka offset of each
-- partition and the last applied version of each stream, committed in the transaction that updates the read models.
CREATE TABLE follow_offsets (
    topic        TEXT NOT NULL,
    partition_id INTEGER NOT NULL,
    next_offset  BIGINT NOT NULL,
    PRIMARY KEY (topic, partition_id)
);

CREATE TABLE follow_streams (
    stream_id TEXT PRIMARY KEY,
    version   BIGINT NOT NULL
);
