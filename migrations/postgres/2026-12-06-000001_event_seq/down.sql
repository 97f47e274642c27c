DROP INDEX study_events_tenant_seq;
ALTER TABLE study_events DROP COLUMN seq;
