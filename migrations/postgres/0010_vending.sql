-- Vending on Track: each purchase with the time its next timer falls due (the timers job reads them by that time),
-- found by the member's account too, newest first by reference (references are time-ordered hex, compared byte by
-- byte); the references the platform calls a purchase by (it may rename one); and each machine's feed.
CREATE TABLE vend_view (
    tenant TEXT NOT NULL,
    txn_ref TEXT COLLATE "C" NOT NULL,
    account_type TEXT NOT NULL,
    account_id TEXT NOT NULL,
    due_at TEXT,
    doc TEXT NOT NULL,
    PRIMARY KEY (tenant, txn_ref)
);
CREATE INDEX vend_view_due ON vend_view (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX vend_view_account ON vend_view (tenant, account_type, account_id, txn_ref);

CREATE TABLE vend_ref_view (
    tenant TEXT NOT NULL,
    platform_ref TEXT NOT NULL,
    txn_ref TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (tenant, platform_ref)
);

CREATE TABLE machine_view (
    tenant TEXT NOT NULL,
    vm_id TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (tenant, vm_id)
);
