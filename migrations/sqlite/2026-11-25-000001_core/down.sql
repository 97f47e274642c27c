DROP TABLE study_events;
DROP TABLE instances;
DROP TABLE series;
DROP TABLE studies;
DROP TABLE deprecations;
DROP TABLE patients;
