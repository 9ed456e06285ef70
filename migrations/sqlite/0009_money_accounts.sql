-- Money accounts (deposit, credit, employee allowance, credit notes): one row per account, found by type and id, or by
-- the customer whose accounts they are.
CREATE TABLE money_account_view (
    tenant TEXT NOT NULL,
    account_type TEXT NOT NULL,
    account_id TEXT NOT NULL,
    contact_id TEXT,
    doc TEXT NOT NULL,
    PRIMARY KEY (tenant, account_type, account_id)
);
CREATE INDEX money_account_view_contact ON money_account_view (tenant, contact_id);
