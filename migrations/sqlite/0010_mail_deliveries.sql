-- The ledger of messages handed to a mail server that reaches outside (SMTP), one row per
-- message key (the approval id): a server cannot be asked whether it already took a message, so
-- the ledger is what keeps a retry after a crash from sending it twice.
--   sending  an attempt started (left so by a crash: the outcome is unknown once it is stale)
--   sent     the server took it (reference: its answer)
--   retry    the last attempt failed before the server took anything: safe to try again
--   refused  the server refused it for good (error: its answer)
--   unknown  the connection broke while sending: a person must check
CREATE TABLE mail_deliveries (
    message_key TEXT PRIMARY KEY NOT NULL,
    channel     TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('sending', 'sent', 'retry', 'refused', 'unknown')),
    reference   TEXT,
    error       TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER
);
