-- Pathology slides uploaded as scanner files: the file stored beside its
-- generated DICOM object (the instance row), on the same medium.
ALTER TABLE instances ADD COLUMN slide_kind TEXT;
ALTER TABLE instances ADD COLUMN slide_key TEXT;
ALTER TABLE instances ADD COLUMN slide_size BIGINT;
ALTER TABLE instances ADD COLUMN slide_sha1 TEXT;
ALTER TABLE instances ADD COLUMN slide_name TEXT;
