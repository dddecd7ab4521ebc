-- The people that tracking code (Segment / RudderStack libraries) names by userId: which customer
-- a `group` call put them in, so later `track` calls without a groupId resolve; the traits of
-- their latest `identify`; and the stakeholder whose e-mail matches those traits.
CREATE TABLE tracked_users (
    user_id        text PRIMARY KEY,
    customer_id    uuid REFERENCES customers (id) ON DELETE SET NULL,
    stakeholder_id uuid REFERENCES stakeholders (id) ON DELETE SET NULL,
    traits         jsonb NOT NULL DEFAULT '{}',
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);
CREATE INDEX idx_tracked_users_customer_id ON tracked_users (customer_id);
CREATE INDEX idx_tracked_users_stakeholder_id ON tracked_users (stakeholder_id);
