-- Rendering and whole slides: where each frame lies in its file, and the size of
-- whole-slide levels (to pick the baseline or the smallest level).
ALTER TABLE instances ADD COLUMN frame_index TEXT;
ALTER TABLE instances ADD COLUMN total_pixel_matrix_rows INTEGER;
ALTER TABLE instances ADD COLUMN total_pixel_matrix_columns INTEGER;
