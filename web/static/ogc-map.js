// The map of an OGC API page of features: the page's own features (embedded as GeoJSON)
// over the base map, zoomed to them; a click shows a feature's id.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  var box = document.getElementById("ogc-map");
  var data = document.getElementById("ogc-features");
  if (!box || !data || typeof L === "undefined") return;
  var collection = JSON.parse(data.textContent);
  var map = L.map(box, { scrollWheelZoom: false });
  if (box.dataset.tiles) {
    L.tileLayer(box.dataset.tiles, { attribution: box.dataset.attribution, maxZoom: 19 }).addTo(map);
  }
  var drawn = L.geoJSON(collection, {
    style: { color: "#1f5f8b", weight: 1.5, fillOpacity: 0.25 },
    pointToLayer: function (feature, at) {
      return L.circleMarker(at, { radius: 5, color: "#1f5f8b", weight: 1.5, fillOpacity: 0.7 });
    },
    onEachFeature: function (feature, layer) {
      var name = feature.properties && (feature.properties.name || feature.properties.title);
      layer.bindTooltip(String(feature.id) + (name ? " – " + name : ""));
    }
  }).addTo(map);
  var bounds = drawn.getBounds();
  if (bounds.isValid()) map.fitBounds(bounds, { maxZoom: 16 });
  else map.setView([51.16, 10.45], 5);
  box.dataset.features = String(collection.features.length);
});
