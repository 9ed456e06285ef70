-- Footprints' sign-in: the staff members of a merchant who sign in to its applications (by username and password,
-- or by PIN), and the access and refresh tokens `/api/token` hands out. Passwords and PINs are argon2 hashes; a PIN
-- hash is salted per merchant so that a PIN finds its staff member with one hash (and two staff members of one
-- merchant cannot share a PIN). Tokens are stored as digests only.
CREATE TABLE staff_members (
    tenant        TEXT NOT NULL REFERENCES merchants (tenant),
    staff_id      TEXT NOT NULL,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    username      TEXT,
    password_hash TEXT,
    pin_hash      TEXT,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (tenant, staff_id)
);
CREATE UNIQUE INDEX staff_members_username ON staff_members (tenant, username);
CREATE UNIQUE INDEX staff_members_pin ON staff_members (tenant, pin_hash);

CREATE TABLE access_tokens (
    access_digest      TEXT PRIMARY KEY,
    refresh_digest     TEXT NOT NULL UNIQUE,
    client_id          TEXT NOT NULL REFERENCES api_clients (client_id),
    tenant             TEXT NOT NULL,
    staff_id           TEXT,
    role               TEXT NOT NULL,
    expires_at         TEXT NOT NULL,
    refresh_expires_at TEXT NOT NULL
);
CREATE INDEX access_tokens_refresh_expiry ON access_tokens (refresh_expires_at);

-- Wrong PINs and passwords per key (an application's PIN pad, a merchant's username), shared by every instance: a
-- key with five in its window of 15 minutes is refused until the window has passed.
CREATE TABLE sign_in_failures (
    throttle_key TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    window_start TEXT NOT NULL
);
