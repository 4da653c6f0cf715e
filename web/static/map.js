// The planning map in the browser: draws the choropleth and the overlays from the JSON API,
// shows tooltips and the region panel, and keeps the map's state in the URL.
"use strict";

window.sozialraum = (function () {
  var CATEGORY_COLOURS = ["#e6550d", "#31a354", "#756bb1", "#3182bd", "#de2d26", "#636363"];

  function escapeHtml(text) {
    var div = document.createElement("div");
    div.textContent = text == null ? "" : String(text);
    return div.innerHTML;
  }

  function getJson(url) {
    return fetch(url).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) throw new Error(body.detail || response.statusText);
        return body;
      });
    });
  }

  function tooltip(p) {
    return "<strong>" + escapeHtml(p.name) + "</strong> (" + escapeHtml(p.code) + ")<br>" +
      escapeHtml(p.value_label) + (p.partial ? " (unvollständig)" : "") + "<br>" +
      "Klasse: " + escapeHtml(p.class_label);
  }

  function facilityPopup(p) {
    var capacity = p.capacity == null ? "" :
      "<br>" + Number(p.capacity).toLocaleString("de-DE") + " " + escapeHtml(p.capacity_unit || "");
    return "<strong>" + escapeHtml(p.name) + "</strong><br>" + escapeHtml(p.label) +
      (p.address ? "<br>" + escapeHtml(p.address) : "") + capacity;
  }

  function projectPopup(p) {
    var dates = [p.start_date, p.end_date].filter(Boolean).map(germanDate).join(" – ");
    return "<strong>" + escapeHtml(p.title) + "</strong><br>" + escapeHtml(p.status) + " · " +
      escapeHtml(p.topic) + (dates ? "<br>" + escapeHtml(dates) : "") +
      (p.organisation ? "<br>" + escapeHtml(p.organisation) : "") +
      '<br><a href="/projects/' + encodeURIComponent(p.id) + '">Zum Projekt</a>';
  }

  function germanDate(iso) {
    var parts = String(iso).split("-");
    return parts.length === 3 ? parts[2] + "." + parts[1] + "." + parts[0] : iso;
  }

  function projectLayer(data) {
    return L.geoJSON(data, {
      pane: "projects",
      style: function (feature) {
        return { color: feature.properties.colour, weight: 3, fillOpacity: 0.25 };
      },
      pointToLayer: function (feature, latlng) {
        return L.circleMarker(latlng, { pane: "projects", radius: 8, color: "#ffffff", weight: 2,
          fillColor: feature.properties.colour, fillOpacity: 0.95 });
      },
      onEachFeature: function (feature, layer) {
        layer.bindPopup(projectPopup(feature.properties));
        layer.bindTooltip(escapeHtml(feature.properties.title));
      }
    });
  }

  function initMap(map, layers, config) {
    var form = document.getElementById("controls");
    var panel = document.getElementById("panel");
    var frame = document.getElementById("map-frame");
    var loaded = {};
    map.attributionControl.addAttribution(config.attribution);

    function syncUrl() {
      var centre = map.getCenter();
      form.elements.lat.value = centre.lat.toFixed(5);
      form.elements.lon.value = centre.lng.toFixed(5);
      form.elements.zoom.value = map.getZoom();
      form.elements.overlays.value = Object.keys(layers).filter(function (key) {
        return map.hasLayer(layers[key]);
      }).join(",");
      var params = new URLSearchParams(new FormData(form));
      history.replaceState(null, "", "?" + params.toString());
    }

    function openPanel(code, level) {
      var url = new URL(config.panel.replace("{code}", encodeURIComponent(code)), location.href);
      if (level) url.searchParams.set("level", level);  // a region of a coarser zoom tier
      fetch(url.toString())
        .then(function (response) { return response.text(); })
        .then(function (html) { panel.innerHTML = html; });
    }

    function fill(key) {
      var overlay = config.overlays[key];
      if (!overlay || loaded[key]) return;
      loaded[key] = true;
      var colour = CATEGORY_COLOURS[Object.keys(config.overlays).indexOf(key) % CATEGORY_COLOURS.length];
      getJson(overlay.url).then(function (data) {
        if (overlay.kind === "facilities") {
          L.geoJSON(data, {
            pointToLayer: function (feature, latlng) {
              return L.circleMarker(latlng, { radius: 6, color: "#ffffff", weight: 1,
                fillColor: colour, fillOpacity: 0.9 });
            },
            onEachFeature: function (feature, layer) { layer.bindPopup(facilityPopup(feature.properties)); }
          }).eachLayer(function (layer) { layers[key].addLayer(layer); });
        } else if (overlay.kind === "projects") {
          projectLayer(data).addTo(layers[key]);
          frame.dataset.projects = String(data.features.length);
        } else {
          L.geoJSON(data, { pane: "outlines", interactive: false,
            style: { color: "#252525", weight: 2.5, fill: false } }).addTo(layers[key]);
        }
        frame.dataset["overlay_" + key.replace(/-/g, "_")] = "loaded";
      }).catch(function (error) { loaded[key] = false; console.error(error); });
    }

    Object.keys(layers).forEach(function (key) {
      if (map.hasLayer(layers[key])) fill(key);
    });
    function showProjectLegend() {
      var legend = document.getElementById("project-legend");
      if (legend && layers.projekte) legend.hidden = !map.hasLayer(layers.projekte);
    }
    showProjectLegend();
    map.on("overlayadd", function (event) {
      Object.keys(layers).forEach(function (key) { if (layers[key] === event.layer) fill(key); });
      showProjectLegend();
      syncUrl();
    });
    map.on("overlayremove", function () { showProjectLegend(); syncUrl(); });
    map.on("moveend", syncUrl);

    Array.prototype.forEach.call(form.querySelectorAll("select"), function (select) {
      select.addEventListener("change", function () {
        if (select.name === "indicator" || select.name === "level") {
          form.elements.period.disabled = select.name === "indicator";
        }
        form.submit();
      });
    });

    if (config.choropleth_tiles) {
      if (!form.elements.zoom.value && config.bounds) map.fitBounds(config.bounds);
      drawTiles(map, config.choropleth_tiles, frame, openPanel);
      return;
    }
    if (!config.choropleth) { frame.dataset.regions = "0"; return; }
    getJson(config.choropleth).then(function (data) {
      var layer = L.geoJSON(data, {
        pane: "choropleth",
        style: function (feature) {
          return { fillColor: feature.properties.colour, fillOpacity: 0.8, color: "#ffffff",
            weight: 0.7 };
        },
        onEachFeature: function (feature, layer) {
          layer.bindTooltip(tooltip(feature.properties), { sticky: true });
          layer.on("mouseover", function () { layer.setStyle({ weight: 3, color: "#000000" }); });
          layer.on("mouseout", function () { layer.setStyle({ weight: 0.7, color: "#ffffff" }); });
          layer.on("click", function () { openPanel(feature.properties.code); });
        }
      }).addTo(map);
      // the city's main area (without far-off islands), else everything drawn
      if (!form.elements.zoom.value) map.fitBounds(config.bounds || layer.getBounds());
      frame.dataset.regions = String(data.features.length);
    }).catch(function (error) {
      frame.dataset.regions = "0";
      frame.insertAdjacentHTML("beforebegin", '<p class="problem" role="alert">' +
        escapeHtml(error.message) + "</p>");
    });
  }

  // Leaflet 1.9 has no fakeStop, which VectorGrid calls on a click: stopping the click at the
  // tile keeps the map from handling it as well, which is what it did
  if (window.L && L.DomEvent && !L.DomEvent.fakeStop) {
    L.DomEvent.fakeStop = function (e) { L.DomEvent.stopPropagation(e); };
  }

  // A large level from vector tiles that carry each region's value, a tier of tiles per zoom
  // range (coarser levels while the chosen one is too fine to tell apart): coloured here by
  // the breaks the server decided (a value belongs to the first class whose upper break it
  // does not exceed, or stays below where the break is exclusive, as the server classifies),
  // a tooltip on hover, the panel on a click.
  function drawTiles(map, tiles, frame, openPanel) {
    function classOf(value) {
      var last = tiles.classes.length - 1;
      for (var i = 0; i < last; i++) {
        var b = tiles.breaks[i];
        if (tiles.exclusive[i] ? value < b : value <= b) return tiles.classes[i];
      }
      return tiles.classes[last];
    }
    function colourOf(value) {
      return value === undefined || value === null ? tiles.no_data : classOf(value).colour;
    }
    function labelOf(value) {
      if (value === undefined || value === null) return "keine Daten";
      if (tiles.labelled) return classOf(value).label;
      var shown = Number(value).toLocaleString("de-DE", { maximumFractionDigits: tiles.decimals });
      return tiles.unit ? shown + " " + tiles.unit : shown;
    }
    function style(properties) {
      return { fill: true, fillColor: colourOf(properties[tiles.property]), fillOpacity: 0.8,
        color: "#ffffff", weight: 0.5 };
    }
    var hover = L.tooltip({ sticky: true });
    tiles.tiers.forEach(function (tier) {
      var styles = {};
      styles[tier.layer] = style;
      var layer = L.vectorGrid.protobuf(tier.url, {
        pane: "choropleth", interactive: true, vectorTileLayerStyles: styles,
        minZoom: tier.min_zoom, maxZoom: tier.max_zoom, maxNativeZoom: Math.min(tier.max_zoom, 16),
        rendererFactory: L.canvas.tile,
        getFeatureId: function (feature) { return feature.properties.code; }
      });
      layer.on("mouseover", function (e) {
        var p = e.layer.properties;
        hover.setContent("<strong>" + escapeHtml(p.name) + "</strong> (" + escapeHtml(p.code) +
          ") · " + escapeHtml(tier.level) + "<br>" + escapeHtml(labelOf(p[tiles.property])))
          .setLatLng(e.latlng).addTo(map);
      });
      layer.on("mouseout", function () { map.removeLayer(hover); });
      layer.on("click", function (e) { openPanel(e.layer.properties.code, tier.key); });
      layer.on("load", function () { frame.dataset.tiles = "loaded"; });
      layer.addTo(map);
    });
    frame.dataset.regions = String(tiles.regions);
  }

  return { initMap: initMap, escapeHtml: escapeHtml, projectLayer: projectLayer };
})();
