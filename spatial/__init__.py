"""Geometry and CRS core and the PostGIS store: settings, embedded cluster, migrations."""
