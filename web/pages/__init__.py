"""Server-rendered pages: the folium maps, charts and the Jinja templates' helpers."""
