-- The ledger: an append-only event table. Positions and versions are assigned by the store; UPDATE and DELETE are
-- refused by triggers so that no code path, bug or operator can rewrite history.
CREATE TABLE events (
    global_position INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id        TEXT    NOT NULL,
    stream_id       TEXT    NOT NULL,
    stream_version  INTEGER NOT NULL,
    event_type      TEXT    NOT NULL,
    schema_version  INTEGER NOT NULL,
    occurred_at     TEXT    NOT NULL,
    recorded_at     TEXT    NOT NULL,
    tenant          TEXT    NOT NULL,
    actor_principal TEXT    NOT NULL,
    actor_role      TEXT    NOT NULL,
    correlation_id  TEXT    NOT NULL,
    causation_id    TEXT,
    idempotency_key TEXT,
    payload         TEXT    NOT NULL,
    CONSTRAINT events_event_id UNIQUE (event_id),
    CONSTRAINT events_stream_version UNIQUE (stream_id, stream_version)
);

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'the ledger is append-only: events cannot be updated');
END;

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'the ledger is append-only: events cannot be deleted');
END;

-- The first response to each (principal, key), returned again on a retry with the same request.
CREATE TABLE idempotency (
    principal    TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    request_hash TEXT    NOT NULL,
    status       INTEGER NOT NULL,
    content_type TEXT    NOT NULL,
    body         TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    PRIMARY KEY (principal, key)
);

-- Merchants (tenants) and their settings; reference data managed by operators, not events.
CREATE TABLE merchants (
    tenant                  TEXT PRIMARY KEY,
    name                    TEXT NOT NULL,
    time_zone               TEXT NOT NULL,
    required_contact_fields TEXT NOT NULL,
    created_at              TEXT NOT NULL
);

-- API clients: each belongs to one merchant and has one role; the secret is stored as an argon2 hash.
CREATE TABLE api_clients (
    client_id   TEXT PRIMARY KEY,
    tenant      TEXT NOT NULL REFERENCES merchants (tenant),
    role        TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

-- Inline projections, updated in the append's transaction and rebuilt from the ledger by `tally projections rebuild`.
-- A contact holds at most one live card (one not blocked for replacement): live_contact_id is NULL otherwise.
CREATE TABLE card_view (
    tenant          TEXT NOT NULL,
    number          TEXT NOT NULL,
    live_contact_id TEXT,
    doc             TEXT NOT NULL,
    PRIMARY KEY (tenant, number),
    CONSTRAINT card_view_one_live_card UNIQUE (tenant, live_contact_id)
);

CREATE TABLE contact_view (
    tenant        TEXT NOT NULL,
    contact_id    TEXT NOT NULL,
    code          TEXT NOT NULL,
    mobile_number TEXT,
    doc           TEXT NOT NULL,
    PRIMARY KEY (tenant, contact_id),
    CONSTRAINT contact_view_code UNIQUE (tenant, code),
    CONSTRAINT contact_view_mobile UNIQUE (tenant, mobile_number)
);

-- next_expiry: the earliest expiry among lots with something left, for the expiry job.
CREATE TABLE account_view (
    tenant      TEXT NOT NULL,
    contact_id  TEXT NOT NULL,
    next_expiry TEXT,
    doc         TEXT NOT NULL,
    PRIMARY KEY (tenant, contact_id)
);

CREATE INDEX account_view_next_expiry ON account_view (next_expiry);
