-- Relocation deletes an old copy only when no row (a deprecated one included)
-- still names it: these find the rows that name a key.
CREATE INDEX instances_storage_key ON instances (storage_key);
CREATE INDEX instances_slide_key ON instances (slide_key) WHERE slide_key IS NOT NULL;
