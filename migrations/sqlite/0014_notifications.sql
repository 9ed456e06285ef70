-- E-mail notifications: the template and notification views, and the attachments of notifications not yet sent,
-- outside the ledger (whose events hold their digests), each sealed with the notification's own key; the
-- notifications subscriber removes one once its notification is delivered or failed.
CREATE TABLE notification_template_view (
    tenant       TEXT NOT NULL,
    template_key TEXT NOT NULL,
    doc          TEXT NOT NULL,
    PRIMARY KEY (tenant, template_key)
);

CREATE TABLE notification_view (
    tenant          TEXT NOT NULL,
    notification_id TEXT NOT NULL,
    doc             TEXT NOT NULL,
    PRIMARY KEY (tenant, notification_id)
);

CREATE TABLE notification_attachments (
    tenant          TEXT NOT NULL,
    notification_id TEXT NOT NULL,
    content         BLOB NOT NULL,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (tenant, notification_id)
);
