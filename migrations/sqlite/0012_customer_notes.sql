-- Notes a team writes on an account, with the teammates they mention (user ids, JSON array).
-- Each note is also a `note.added` domain event, so the customer timeline shows it in order.
CREATE TABLE customer_notes (
    id          TEXT PRIMARY KEY NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    author_id   TEXT REFERENCES users (id) ON DELETE SET NULL,
    body        TEXT NOT NULL,
    mentions    TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(mentions)),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX idx_customer_notes_customer_id ON customer_notes (customer_id, created_at);
