ALTER TABLE instances DROP COLUMN slide_name;
ALTER TABLE instances DROP COLUMN slide_sha1;
ALTER TABLE instances DROP COLUMN slide_size;
ALTER TABLE instances DROP COLUMN slide_key;
ALTER TABLE instances DROP COLUMN slide_kind;
