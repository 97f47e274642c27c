-- Management APIs: orders (kept for the modality worklist), the audit log of
-- every change, merged patients, and indexes for the count API.

ALTER TABLE patients ADD COLUMN merged_into BIGINT REFERENCES patients (id);

CREATE TABLE orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    study_uid TEXT NOT NULL,
    accession_number TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    issuer TEXT NOT NULL DEFAULT '',
    patient_name TEXT,
    birth_date TEXT,
    sex TEXT,
    scheduled_station_ae TEXT NOT NULL,
    start_date TEXT NOT NULL,
    start_time TEXT NOT NULL,
    modality TEXT NOT NULL,
    fields TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX orders_study ON orders (tenant, study_uid);
CREATE INDEX orders_patient ON orders (tenant, patient_id);
CREATE INDEX orders_schedule ON orders (tenant, start_date, modality);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    study_uid TEXT,
    series_uid TEXT,
    patient_id TEXT,
    details TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL
);
CREATE INDEX audit_log_tenant ON audit_log (tenant, id);

-- Count filters by calling AET and station: the studies having such a live series.
CREATE INDEX series_count_aet ON series (tenant, calling_aet, study_fk) WHERE deprecation_fk IS NULL;
CREATE INDEX series_count_station ON series (tenant, station_name, study_fk) WHERE deprecation_fk IS NULL;
DROP INDEX series_study_aet;
DROP INDEX series_study_station;
