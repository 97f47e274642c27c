ALTER TABLE instances DROP COLUMN total_pixel_matrix_columns;
ALTER TABLE instances DROP COLUMN total_pixel_matrix_rows;
ALTER TABLE instances DROP COLUMN frame_index;
