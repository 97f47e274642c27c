-- Event ids are per tenant: a poller of one tenant sees 1, 2, 3… and learns
-- nothing of another tenant's activity from jumps. `seq` is allocated in
-- `events::append` under the write lock (max + 1 of the tenant), so it is
-- gap-free and follows commit order; existing rows are numbered in id order.
ALTER TABLE study_events ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
UPDATE study_events SET seq = numbered.n
FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY tenant ORDER BY id) AS n FROM study_events) AS numbered
WHERE numbered.id = study_events.id;
CREATE UNIQUE INDEX study_events_tenant_seq ON study_events (tenant, seq);
