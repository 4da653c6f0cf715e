"""The FastAPI application: JSON API, map pages, exports, OGC API Features and tiles."""
