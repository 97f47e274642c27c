CREATE INDEX studies_count_received ON studies (tenant, received_at)
    WHERE deprecation_fk IS NULL AND num_series > 0;
DROP INDEX studies_count_cover;
