-- The Kafka relay: how far the ledger has been published (the checkpoint: every event at or below `position` was
-- acknowledged by the broker), and which process may publish (a lease that its holder renews).
CREATE TABLE relay (
    name        TEXT PRIMARY KEY,
    position    BIGINT NOT NULL,
    holder      TEXT NOT NULL,
    lease_until TEXT NOT NULL
);

INSERT INTO relay (name, position, holder, lease_until) VALUES ('kafka', 0, '', '');
