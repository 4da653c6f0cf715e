"""Server-rendered pages: the folium maps and the Jinja templates' helpers."""
