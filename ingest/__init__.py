"""Jobs that bring boundaries (and later statistics and facilities) into the store:
sources and downloads, readers with validation, and transactional loading into PostGIS."""
