CREATE INDEX series_study_aet ON series (study_fk, calling_aet) WHERE deprecation_fk IS NULL;
CREATE INDEX series_study_station ON series (study_fk, station_name) WHERE deprecation_fk IS NULL;
DROP INDEX series_count_station;
DROP INDEX series_count_aet;
DROP TABLE audit_log;
DROP TABLE orders;
ALTER TABLE patients DROP COLUMN merged_into;
