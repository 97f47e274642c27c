DROP INDEX instances_slide_key;
DROP INDEX instances_storage_key;
