-- The merchants' daily tallies: per business day (in the merchant's time zone) and promotion.
CREATE TABLE tally_view (
    tenant       TEXT NOT NULL,
    business_day TEXT NOT NULL,
    business_id  TEXT NOT NULL,
    promotion_id TEXT NOT NULL,
    doc          TEXT NOT NULL,
    PRIMARY KEY (tenant, business_day, business_id, promotion_id)
);

CREATE INDEX tally_view_day ON tally_view (business_day);
