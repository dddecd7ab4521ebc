-- Notes a team writes on an account, with the teammates they mention (user ids, JSON array).
-- Each note is also a `note.added` domain event, so the customer timeline shows it in order.
CREATE TABLE customer_notes (
    id          uuid PRIMARY KEY,
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    author_id   uuid REFERENCES users (id) ON DELETE SET NULL,
    body        text NOT NULL,
    mentions    jsonb NOT NULL DEFAULT '[]',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX idx_customer_notes_customer_id ON customer_notes (customer_id, created_at);
