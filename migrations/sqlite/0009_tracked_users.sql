-- The people that tracking code (Segment / RudderStack libraries) names by userId: which customer
-- a `group` call put them in, so later `track` calls without a groupId resolve; the traits of
-- their latest `identify`; and the stakeholder whose e-mail matches those traits.
CREATE TABLE tracked_users (
    user_id        TEXT PRIMARY KEY NOT NULL,
    customer_id    TEXT REFERENCES customers (id) ON DELETE SET NULL,
    stakeholder_id TEXT REFERENCES stakeholders (id) ON DELETE SET NULL,
    traits         TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(traits)),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX idx_tracked_users_customer_id ON tracked_users (customer_id);
CREATE INDEX idx_tracked_users_stakeholder_id ON tracked_users (stakeholder_id);
