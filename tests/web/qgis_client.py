"""Run by Debian's /usr/bin/python3 with PyQGIS (QGIS headless), not by pytest: opens the
platform's vector tiles with its style and an OGC API Features layer with filters, and prints
what QGIS saw (rendered colours, counts, the URLs it asked for) as JSON.

Arguments: base URL, PNG path, collection of regions, its indicator, two dates for the filters."""

import json
import os
import sys
import urllib.request

from qgis.core import (
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsFeatureRequest,
    QgsMapBoxGlStyleConverter,
    QgsMapRendererParallelJob,
    QgsMapSettings,
    QgsNetworkAccessManager,
    QgsNetworkRequestParameters,
    QgsRectangle,
    QgsVectorLayer,
    QgsVectorTileLayer,
)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor

base, png, regions, indicator, day, later = sys.argv[1:7]
app = QgsApplication([], False)
app.initQgis()
urls: list[str] = []
manager = QgsNetworkAccessManager.instance()
manager.requestAboutToBeCreated[QgsNetworkRequestParameters].connect(
    lambda request: urls.append(request.request().url().toString())
)


def asked() -> list[str]:
    """The URLs requested since the last call."""
    app.processEvents()
    found = list(urls)
    urls.clear()
    return found


result: dict = {}
template = f"{base}/tiles/{regions}/{{z}}/{{x}}/{{y}}.mvt?indicators={indicator}"
layer = QgsVectorTileLayer(f"type=xyz&url={template}&zmin=0&zmax=14", regions)
result["tiles_valid"] = layer.isValid()
with urllib.request.urlopen(f"{base}/tiles/{regions}/style.json?indicators={indicator}") as r:
    style = json.load(r)
converter = QgsMapBoxGlStyleConverter()
result["style_converted"] = converter.convert(style) == QgsMapBoxGlStyleConverter.Success
result["style_warnings"] = converter.warnings()
layer.setRenderer(converter.renderer())
settings = QgsMapSettings()
settings.setLayers([layer])
settings.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:3857"))
settings.setExtent(QgsRectangle(1457000, 6866000, 1530000, 6921000))  # Berlin
settings.setOutputSize(QSize(600, 450))
settings.setBackgroundColor(QColor(255, 255, 255))
job = QgsMapRendererParallelJob(settings)
job.start()
job.waitForFinished()
image = job.renderedImage()
image.save(png)
colours: dict[str, int] = {}
for x in range(0, image.width(), 3):
    for y in range(0, image.height(), 3):
        colour = f"#{image.pixel(x, y) & 0xFFFFFF:06x}"
        colours[colour] = colours.get(colour, 0) + 1
result["colours"] = colours
result["style_colours"] = [s["paint"]["fill-color"] for s in style["layers"] if s["type"] == "fill"]
result["tile_urls"] = [u for u in asked() if "/tiles/" in u]

kitas = QgsVectorLayer(f"url='{base}/ogc' typename='facilities-kita'", "kitas", "OAPIF")
result["oapif_valid"] = kitas.isValid()
result["oapif_fields"] = {f.name(): f.typeName() for f in kitas.fields()}
result["oapif_count"] = kitas.featureCount()
asked()
kitas.setSubsetString(f"\"valid_on\" <= '{day}'")
result["before_count"] = sum(1 for _ in kitas.getFeatures())
result["before_urls"] = [u for u in asked() if "/items" in u]
kitas.setSubsetString(f"\"valid_on\" >= '{later}'")
result["after_count"] = sum(1 for _ in kitas.getFeatures())
result["after_urls"] = [u for u in asked() if "/items" in u]

fresh = QgsVectorLayer(
    f"url='{base}/ogc' typename='facilities-kita' restrictToRequestBBOX='1'", "box", "OAPIF"
)
box = QgsFeatureRequest().setFilterRect(QgsRectangle(13.40, 52.50, 13.42, 52.52))
asked()
result["box_count"] = sum(1 for _ in fresh.getFeatures(box))
result["box_urls"] = [u for u in asked() if "/items" in u]
print(json.dumps(result), flush=True)
# leave without tearing QGIS down: exitQgis() crashes headless 3.22 now and then
os._exit(0)
