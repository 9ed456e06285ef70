-- Leads and their customers: the vault of personal data keys (one per customer and merchant; a NULL key is an erased customer's
-- tombstone) and the merchants' lookup keys for identity digests, then the lead views. The lead view's columns are
-- what the pipeline figures and the Footprints listing query: times are seconds since the epoch as fixed-width text.
CREATE TABLE subject_keys (
    tenant     TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    key        TEXT,
    created_at TEXT NOT NULL,
    erased_at  TEXT,
    PRIMARY KEY (tenant, subject_id)
);

CREATE TABLE lookup_keys (
    tenant     TEXT PRIMARY KEY,
    key        TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE lead_view (
    tenant          TEXT NOT NULL,
    lead_id         TEXT NOT NULL,
    status          TEXT NOT NULL,
    location_id     TEXT,
    consultant_id   TEXT,
    channel_id      TEXT,
    offer_id        TEXT,
    status_since    TEXT NOT NULL,
    action_required TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    listed          TEXT NOT NULL,
    lost_reason     TEXT,
    doc             TEXT NOT NULL,
    PRIMARY KEY (tenant, lead_id)
);
-- The listing by creation time, and the pipeline's period figures (added, converted, lost) without reading a row.
CREATE INDEX lead_view_created
    ON lead_view (tenant, created_at, status, location_id, consultant_id, channel_id, offer_id, listed);
CREATE INDEX lead_view_status
    ON lead_view (tenant, status, status_since, lost_reason, location_id, consultant_id, channel_id, offer_id);

-- The pipeline's running totals, moved with every change of a lead row in the same transaction: per status and
-- placement ('' for an id a lead lacks), how many leads, the sum of the times they entered the status (seconds since
-- the epoch) and how many need an action.
CREATE TABLE lead_stage_totals (
    tenant        TEXT NOT NULL,
    status        TEXT NOT NULL,
    location_id   TEXT NOT NULL,
    consultant_id TEXT NOT NULL,
    channel_id    TEXT NOT NULL,
    offer_id      TEXT NOT NULL,
    leads         BIGINT NOT NULL,
    entered_sum   BIGINT NOT NULL,
    actions_due   BIGINT NOT NULL,
    PRIMARY KEY (tenant, status, location_id, consultant_id, channel_id, offer_id)
);

CREATE TABLE lead_action_view (
    tenant    TEXT NOT NULL,
    action_id TEXT NOT NULL,
    lead_id   TEXT NOT NULL,
    doc       TEXT NOT NULL,
    PRIMARY KEY (tenant, action_id)
);
CREATE INDEX lead_action_view_lead ON lead_action_view (tenant, lead_id);

-- Footprints' customers, and the identities (keyed digests) they are found by.
CREATE TABLE customer_view (
    tenant      TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    erased      TEXT NOT NULL,
    doc         TEXT NOT NULL,
    PRIMARY KEY (tenant, customer_id)
);

CREATE TABLE customer_identity_view (
    tenant      TEXT NOT NULL,
    identity    TEXT NOT NULL,
    doc         TEXT NOT NULL,
    PRIMARY KEY (tenant, identity)
);

-- The contents of lead documents, outside the ledger (whose events hold their digests), each sealed with the key of
-- the lead's customer: nonce and ciphertext.
CREATE TABLE lead_documents (
    tenant      TEXT NOT NULL,
    document_id TEXT NOT NULL,
    lead_id     TEXT NOT NULL,
    content     BYTEA NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (tenant, document_id)
);
