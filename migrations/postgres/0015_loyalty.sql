-- Loyalty campaigns of Footprints: each campaign with its counters, and each code handed out (free codes have no
-- row; the campaign's stream holds them).
CREATE TABLE loyalty_campaign_view (
    tenant      TEXT NOT NULL,
    internal_id TEXT NOT NULL,
    starts_at   TEXT NOT NULL,
    ends_at     TEXT NOT NULL,
    doc         TEXT NOT NULL,
    PRIMARY KEY (tenant, internal_id)
);

CREATE TABLE loyalty_code_view (
    tenant      TEXT NOT NULL,
    internal_id TEXT NOT NULL,
    code        TEXT NOT NULL,
    holder      TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    doc         TEXT NOT NULL,
    PRIMARY KEY (tenant, internal_id, code)
);

CREATE INDEX loyalty_code_view_holder ON loyalty_code_view (tenant, holder, updated_at);
CREATE INDEX loyalty_code_view_updated ON loyalty_code_view (tenant, updated_at);
