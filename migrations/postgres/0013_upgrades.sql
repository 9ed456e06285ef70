-- One-time rewrites of stored data that a new version needs (such as sealing the personal data of contact events
-- recorded before it was sealed): each is recorded here once done, so that a start does not look for it again.
CREATE TABLE upgrades (
    name    TEXT PRIMARY KEY,
    done_at TEXT NOT NULL
);
