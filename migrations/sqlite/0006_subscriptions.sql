-- Ledger subscribers, the Kafka relay among them: per subscriber name, how far it has handled the ledger (the
-- checkpoint: every event at or below `position` was handled) and which process may handle it (a lease that its
-- holder renews). Rows are added by the subscribers on first use. The relay's row of the former `relay` table carries
-- over as `kafka-relay`, checkpoint and lease included, so that the relay resumes where it was.
CREATE TABLE subscriptions (
    name        TEXT PRIMARY KEY,
    position    BIGINT NOT NULL,
    holder      TEXT NOT NULL,
    lease_until TEXT NOT NULL
);

INSERT INTO subscriptions (name, position, holder, lease_until)
SELECT 'kafka-relay', position, holder, lease_until FROM relay WHERE name = 'kafka';

DROP TABLE relay;
