"""The PDF renderer requests nothing a written section names: images, style sheets and imports
by URL or as local files are left out (a local HTTP server counts the hits), while the
profile's own pictures (``data:`` URIs) are drawn. No data mirror needed."""

from __future__ import annotations

import base64
import io

from PIL import Image

from profiles.document import html_to_pdf, render_markdown


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


PNG = _png()
PIXEL = base64.b64encode(PNG).decode()


def _document(base: str) -> str:
    written = render_markdown(f"Ein Bild: ![Zähler]({base}/pixel.png) und [ein Link]({base}/x)")
    return f"""<!doctype html><html><head>
<link rel="stylesheet" href="{base}/style.css">
<style>@import url("{base}/import.css"); body {{ background: url("{base}/bg.png"); }}</style>
</head><body>{written}
<img src="file:///etc/hostname"><img src="../../../../etc/passwd">
<img src="data:image/png;base64,{PIXEL}" alt="eigenes Bild">
</body></html>"""


def test_written_urls_are_never_requested_by_the_pdf_renderer(server):
    base, root, requests = server
    (root / "pixel.png").write_bytes(PNG)
    pdf = html_to_pdf(_document(base))
    assert pdf.startswith(b"%PDF")
    assert requests == []


def test_the_counting_server_sees_a_fetch_that_is_not_limited(server):
    """The control: WeasyPrint's own fetcher does request the written URLs."""
    from weasyprint import HTML

    base, root, requests = server
    (root / "pixel.png").write_bytes(PNG)
    HTML(string=_document(base)).write_pdf()
    assert "/pixel.png" in requests and "/style.css" in requests
