-- Core index: patients, studies, series, instances (with their stored headers),
-- deprecation records and the study event log. Rows are scoped by tenant.
-- Live rows have deprecation_fk NULL; UIDs are unique among live rows only, so
-- deprecated data can be kept while the same UIDs are stored again.

CREATE TABLE patients (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    issuer TEXT NOT NULL DEFAULT '',
    patient_name TEXT,
    patient_name_lc TEXT,
    birth_date TEXT,
    sex TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX patients_identity ON patients (tenant, patient_id, issuer);
CREATE INDEX patients_name ON patients (tenant, patient_name_lc);

CREATE TABLE deprecations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    scope TEXT NOT NULL,
    author TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    recovered_at TIMESTAMP,
    recovered_by TEXT
);

CREATE TABLE studies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    study_uid TEXT NOT NULL,
    patient_fk BIGINT NOT NULL REFERENCES patients (id),
    study_date TEXT,
    study_time TEXT,
    accession_number TEXT,
    study_id TEXT,
    study_description TEXT,
    referring_physician TEXT,
    modalities TEXT NOT NULL DEFAULT '',
    num_series BIGINT NOT NULL DEFAULT 0,
    num_instances BIGINT NOT NULL DEFAULT 0,
    size_bytes BIGINT NOT NULL DEFAULT 0,
    received_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    deprecation_fk BIGINT REFERENCES deprecations (id)
);
CREATE UNIQUE INDEX studies_live_uid ON studies (tenant, study_uid) WHERE deprecation_fk IS NULL;
CREATE INDEX studies_patient ON studies (patient_fk);
CREATE INDEX studies_date ON studies (tenant, study_date);
CREATE INDEX studies_accession ON studies (tenant, accession_number);
-- Live studies in reception order (QIDO pages through them without sorting).
CREATE INDEX studies_live ON studies (tenant) WHERE deprecation_fk IS NULL AND num_series > 0;
-- The count API: live studies with at least one live series, by received date and size.
CREATE INDEX studies_count_received ON studies (tenant, received_at) WHERE deprecation_fk IS NULL AND num_series > 0;
CREATE INDEX studies_count_size ON studies (tenant, size_bytes) WHERE deprecation_fk IS NULL AND num_series > 0;

CREATE TABLE series (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    study_fk BIGINT NOT NULL REFERENCES studies (id),
    series_uid TEXT NOT NULL,
    modality TEXT,
    series_number INTEGER,
    series_description TEXT,
    body_part TEXT,
    laterality TEXT,
    protocol_name TEXT,
    station_name TEXT,
    performed_start_date TEXT,
    performed_start_time TEXT,
    calling_aet TEXT NOT NULL,
    num_instances BIGINT NOT NULL DEFAULT 0,
    size_bytes BIGINT NOT NULL DEFAULT 0,
    received_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    deprecation_fk BIGINT REFERENCES deprecations (id)
);
CREATE UNIQUE INDEX series_live_uid ON series (tenant, series_uid) WHERE deprecation_fk IS NULL;
CREATE INDEX series_study ON series (study_fk);
CREATE INDEX series_live ON series (tenant) WHERE deprecation_fk IS NULL;
CREATE INDEX series_study_aet ON series (study_fk, calling_aet) WHERE deprecation_fk IS NULL;
CREATE INDEX series_study_station ON series (study_fk, station_name) WHERE deprecation_fk IS NULL;
CREATE INDEX series_study_modality ON series (study_fk, modality) WHERE deprecation_fk IS NULL;

CREATE TABLE instances (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    series_fk BIGINT NOT NULL REFERENCES series (id),
    sop_uid TEXT NOT NULL,
    sop_class_uid TEXT NOT NULL,
    transfer_syntax TEXT NOT NULL,
    instance_number INTEGER,
    number_of_frames INTEGER,
    pixel_rows INTEGER,
    pixel_columns INTEGER,
    content_date TEXT,
    content_time TEXT,
    acquisition_time TEXT,
    image_type TEXT,
    image_laterality TEXT,
    view_position TEXT,
    code_meaning TEXT,
    container_identifier TEXT,
    medium TEXT NOT NULL,
    storage_key TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha1 TEXT NOT NULL,
    ingest_fingerprint TEXT NOT NULL,
    pixel_data_offset BIGINT,
    -- the stored header as DICOM JSON (QIDO includefield, WADO-RS metadata)
    header_json TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    deprecation_fk BIGINT REFERENCES deprecations (id)
);
CREATE UNIQUE INDEX instances_live_uid ON instances (tenant, sop_uid) WHERE deprecation_fk IS NULL;
CREATE INDEX instances_series ON instances (series_fk, instance_number);
CREATE INDEX instances_container ON instances (tenant, container_identifier) WHERE container_identifier IS NOT NULL;

CREATE TABLE study_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    event_type TEXT NOT NULL,
    study_uid TEXT,
    series_uid TEXT,
    patient_id TEXT,
    accession_number TEXT,
    details TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL
);
CREATE INDEX study_events_tenant ON study_events (tenant, id);
