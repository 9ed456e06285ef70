-- Promotion read models (ScanTrack), inline like the others and rebuilt by `tally projections rebuild`.
CREATE TABLE promotion_view (
    business_id  TEXT NOT NULL,
    promotion_id TEXT NOT NULL,
    tenant       TEXT NOT NULL,
    doc          TEXT NOT NULL,
    PRIMARY KEY (business_id, promotion_id)
);

-- Business ids are network-wide: each belongs to one merchant.
CREATE TABLE business_view (
    business_id TEXT PRIMARY KEY,
    tenant      TEXT NOT NULL,
    doc         TEXT NOT NULL
);

-- A wallet item (a clipped coupon) belongs to one promotion.
CREATE TABLE wallet_item_view (
    wallet_item_id TEXT PRIMARY KEY,
    business_id    TEXT NOT NULL,
    promotion_id   TEXT NOT NULL,
    doc            TEXT NOT NULL
);
