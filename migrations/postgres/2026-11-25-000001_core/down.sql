DROP TABLE study_events;
DROP TABLE instance_headers;
DROP TABLE instances;
DROP TABLE series;
DROP TABLE studies;
DROP TABLE deprecations;
DROP TABLE patients;
