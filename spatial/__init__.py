"""Geometry and CRS core and the PostGIS store: settings, the embedded cluster, models, migrations."""
