//! Diesel table definitions, identical for SQLite and PostgreSQL
//! (see `migrations/sqlite` and `migrations/postgres`).

diesel::table! {
    patients (id) {
        id -> BigInt,
        tenant -> Text,
        patient_id -> Text,
        issuer -> Text,
        patient_name -> Nullable<Text>,
        patient_name_lc -> Nullable<Text>,
        birth_date -> Nullable<Text>,
        sex -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        merged_into -> Nullable<BigInt>,
    }
}

diesel::table! {
    deprecations (id) {
        id -> BigInt,
        tenant -> Text,
        scope -> Text,
        author -> Text,
        reason -> Text,
        created_at -> Timestamp,
        recovered_at -> Nullable<Timestamp>,
        recovered_by -> Nullable<Text>,
    }
}

diesel::table! {
    studies (id) {
        id -> BigInt,
        tenant -> Text,
        study_uid -> Text,
        patient_fk -> BigInt,
        study_date -> Nullable<Text>,
        study_time -> Nullable<Text>,
        accession_number -> Nullable<Text>,
        study_id -> Nullable<Text>,
        study_description -> Nullable<Text>,
        referring_physician -> Nullable<Text>,
        modalities -> Text,
        num_series -> BigInt,
        num_instances -> BigInt,
        size_bytes -> BigInt,
        received_at -> Timestamp,
        updated_at -> Timestamp,
        deprecation_fk -> Nullable<BigInt>,
    }
}

diesel::table! {
    series (id) {
        id -> BigInt,
        tenant -> Text,
        study_fk -> BigInt,
        series_uid -> Text,
        modality -> Nullable<Text>,
        series_number -> Nullable<Integer>,
        series_description -> Nullable<Text>,
        body_part -> Nullable<Text>,
        laterality -> Nullable<Text>,
        protocol_name -> Nullable<Text>,
        station_name -> Nullable<Text>,
        performed_start_date -> Nullable<Text>,
        performed_start_time -> Nullable<Text>,
        calling_aet -> Text,
        num_instances -> BigInt,
        size_bytes -> BigInt,
        received_at -> Timestamp,
        updated_at -> Timestamp,
        deprecation_fk -> Nullable<BigInt>,
    }
}

diesel::table! {
    instances (id) {
        id -> BigInt,
        tenant -> Text,
        series_fk -> BigInt,
        sop_uid -> Text,
        sop_class_uid -> Text,
        transfer_syntax -> Text,
        instance_number -> Nullable<Integer>,
        number_of_frames -> Nullable<Integer>,
        pixel_rows -> Nullable<Integer>,
        pixel_columns -> Nullable<Integer>,
        content_date -> Nullable<Text>,
        content_time -> Nullable<Text>,
        acquisition_time -> Nullable<Text>,
        image_type -> Nullable<Text>,
        image_laterality -> Nullable<Text>,
        view_position -> Nullable<Text>,
        code_meaning -> Nullable<Text>,
        container_identifier -> Nullable<Text>,
        medium -> Text,
        storage_key -> Text,
        size_bytes -> BigInt,
        sha1 -> Text,
        ingest_fingerprint -> Text,
        pixel_data_offset -> Nullable<BigInt>,
        header_json -> Text,
        received_at -> Timestamp,
        deprecation_fk -> Nullable<BigInt>,
        frame_index -> Nullable<Text>,
        total_pixel_matrix_rows -> Nullable<Integer>,
        total_pixel_matrix_columns -> Nullable<Integer>,
        slide_kind -> Nullable<Text>,
        slide_key -> Nullable<Text>,
        slide_size -> Nullable<BigInt>,
        slide_sha1 -> Nullable<Text>,
        slide_name -> Nullable<Text>,
    }
}

diesel::table! {
    study_events (id) {
        id -> BigInt,
        tenant -> Text,
        event_type -> Text,
        study_uid -> Nullable<Text>,
        series_uid -> Nullable<Text>,
        patient_id -> Nullable<Text>,
        accession_number -> Nullable<Text>,
        details -> Text,
        occurred_at -> Timestamp,
        seq -> BigInt,
    }
}

diesel::table! {
    orders (id) {
        id -> BigInt,
        tenant -> Text,
        study_uid -> Text,
        accession_number -> Text,
        patient_id -> Text,
        issuer -> Text,
        patient_name -> Nullable<Text>,
        birth_date -> Nullable<Text>,
        sex -> Nullable<Text>,
        scheduled_station_ae -> Text,
        start_date -> Text,
        start_time -> Text,
        modality -> Text,
        fields -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        tenant -> Text,
        actor -> Text,
        action -> Text,
        study_uid -> Nullable<Text>,
        series_uid -> Nullable<Text>,
        patient_id -> Nullable<Text>,
        details -> Text,
        occurred_at -> Timestamp,
    }
}

diesel::joinable!(studies -> patients (patient_fk));
diesel::joinable!(series -> studies (study_fk));
diesel::joinable!(instances -> series (series_fk));

diesel::allow_tables_to_appear_in_same_query!(
    patients,
    deprecations,
    studies,
    series,
    instances,
    study_events,
    orders,
    audit_log,
);
