-- CSCX schema, version 0005: device cookies for sign-in throttling (OWASP's "device cookies").
-- PostgreSQL; migrations/sqlite/0005_login_devices.sql makes the same schema change.
--
-- A browser that signed in to an account gets a device cookie; its SHA-256 is kept here. Such a
-- browser is exempt from the per-address limit and from the account's lockout (which apply to
-- unknown clients), and has a failure limit of its own, so an attacker who guesses passwords for
-- an account, or from a shared address, cannot lock out the people who use it.
CREATE TABLE login_devices (
    id           uuid PRIMARY KEY,
    email        text NOT NULL,
    token_hash   text NOT NULL,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX uq_login_devices_token_hash ON login_devices (token_hash);
CREATE INDEX idx_login_devices_email ON login_devices (email);

-- The device an attempt came from (null: an unknown client).
ALTER TABLE login_attempts ADD COLUMN device_id uuid;
CREATE INDEX idx_login_attempts_device_id_attempted_at ON login_attempts (device_id, attempted_at);
