-- The merchant's catalogue (offer categories, offers, SKUs, locations, offline campaigns, channels, business users):
-- each item as declared last, listed by kind (locations by country and county, kept in small letters).
CREATE TABLE catalogue_view (
    tenant  TEXT NOT NULL,
    item_id TEXT NOT NULL,
    kind    TEXT NOT NULL,
    country TEXT,
    county  TEXT,
    retired TEXT NOT NULL,
    doc     TEXT NOT NULL,
    PRIMARY KEY (tenant, item_id)
);

CREATE INDEX catalogue_view_kind ON catalogue_view (tenant, kind, retired, item_id);
