// Coordinators' forms: draw or upload a project's geometry and save it through the API (with
// the session's CSRF token); show conflicts (HTTP 409) with what changed; restore versions;
// contacts and participation events.
"use strict";

(function (sz) {
  var LABELS = {
    title: "Titel", description: "Beschreibung", status: "Status", topic: "Thema",
    funding_programme: "Förderprogramm", organisation: "Organisation", start_date: "Beginn",
    end_date: "Ende", participation_text: "Mitmachen", participation_url: "Link",
    public: "Veröffentlicht", geometry: "Geometrie", districts: "Bezirke", deleted: "Gelöscht"
  };
  var uploaded = null;

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function send(method, url, body) {
    return fetch(url, {
      method: method,
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (response) {
      return response.json().then(function (data) { return { status: response.status, data: data }; });
    });
  }

  function show(box, html, kind) {
    box.className = kind || "problem";
    box.innerHTML = html;
    box.hidden = false;
  }

  function brief(value) {
    if (value === null || value === undefined || value === "") return "–";
    if (typeof value === "object") return "(geändert)";
    return String(value);
  }

  function conflictHtml(result) {
    var items = Object.keys(result.data.changes || {}).map(function (key) {
      var change = result.data.changes[key];
      return "<li>" + sz.escapeHtml(LABELS[key] || key) + ": " + sz.escapeHtml(brief(change.before)) +
        " → " + sz.escapeHtml(brief(change.now)) + "</li>";
    }).join("");
    return "<strong>Nicht gespeichert: Das Projekt wurde inzwischen geändert.</strong><br>" +
      sz.escapeHtml(result.data.detail) + (items ? "<ul>" + items + "</ul>" : "") +
      '<a href="">Neu laden</a>, um die aktuelle Fassung zu sehen.';
  }

  function errorText(data) {
    return sz.escapeHtml(data.detail || "Unbekannter Fehler");
  }

  function initProjectMap(map, layers, config) {
    var drawn = layers.drawn;
    if (config.geometry) {
      // each part its own layer, so the edit tools can move and reshape it
      L.geoJSON(config.geometry).eachLayer(function (layer) {
        if (layer.getLayers) layer.getLayers().forEach(function (l) { drawn.addLayer(l); });
        else drawn.addLayer(layer);
      });
      var bounds = drawn.getBounds();
      if (bounds.isValid()) map.fitBounds(bounds, { maxZoom: 16 });
    }
    sz.drawnLayer = drawn;
    sz.projectMap = map;
    var form = document.getElementById("project-form");
    if (form && config.edit) initProjectForm(form, drawn);
  }

  function initProjectForm(form, drawn) {
    var message = document.getElementById("form-message");
    var upload = document.getElementById("upload");
    upload.addEventListener("change", function () {
      var file = upload.files[0];
      if (!file) return;
      file.text().then(function (content) {
        uploaded = JSON.parse(content);
        drawn.clearLayers();
        L.geoJSON(uploaded).eachLayer(function (layer) { drawn.addLayer(layer); });
        sz.projectMap.fitBounds(drawn.getBounds(), { maxZoom: 16 });
      }).catch(function () { show(message, "Die Datei ist kein GeoJSON."); });
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var shapes = drawn.toGeoJSON();
      if (!shapes.features.length) {
        show(message, "Bitte zuerst eine Fläche, Linie oder einen Punkt zeichnen oder hochladen.");
        return;
      }
      var body = { geometry: shapes, public: form.elements.public.checked };
      ["title", "description", "status", "topic", "funding_programme", "organisation",
        "start_date", "end_date", "participation_text", "participation_url"].forEach(function (name) {
        var value = form.elements[name].value;
        body[name] = value === "" ? null : value;
      });
      if (body.description === null) body.description = "";
      var id = form.dataset.id;
      if (id) body.version = Number(form.dataset.version);
      send(id ? "PUT" : "POST", id ? "/api/projects/" + id : "/api/projects", body)
        .then(function (result) {
          if (result.status === 200 || result.status === 201) {
            var notes = result.data.notes.join(" ");
            window.location.href = "/projects/" + result.data.project.id +
              (notes ? "?hinweis=" + encodeURIComponent(notes) : "");
          } else if (result.status === 409) {
            show(message, conflictHtml(result), "conflict");
          } else {
            show(message, errorText(result.data));
          }
        });
    });
  }

  function initHistory() {
    var table = document.getElementById("history");
    var message = document.getElementById("history-message");
    if (!table) return;
    Array.prototype.forEach.call(table.querySelectorAll("button.restore"), function (button) {
      button.addEventListener("click", function () {
        send("POST", "/api/projects/" + table.dataset.project + "/restore", {
          restore_version: Number(button.dataset.restore),
          version: Number(table.dataset.version)
        }).then(function (result) {
          if (result.status === 200) window.location.reload();
          else show(message, result.status === 409 ? conflictHtml(result) : errorText(result.data));
        });
      });
    });
  }

  function initDelete() {
    var button = document.getElementById("delete-project");
    if (!button) return;
    button.addEventListener("click", function () {
      if (!window.confirm("Projekt löschen? Es bleibt im Verlauf und lässt sich wiederherstellen.")) return;
      send("DELETE", "/api/projects/" + button.dataset.project + "?version=" + button.dataset.version)
        .then(function (result) {
          if (result.status === 200) window.location.href = "/projects";
          else show(document.getElementById("delete-message"),
            result.status === 409 ? conflictHtml(result) : errorText(result.data));
        });
    });
  }

  function initContacts() {
    initDelete();
    var form = document.getElementById("contact-form");
    if (!form) return;
    var message = form.querySelector("[role=alert]");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var body = {};
      ["name", "organisation", "email", "phone", "consent_date", "consent_purpose"].forEach(function (name) {
        body[name] = form.elements[name].value || null;
      });
      send("POST", "/api/projects/" + form.dataset.project + "/contacts", body).then(function (result) {
        if (result.status === 201) window.location.reload();
        else show(message, errorText(result.data));
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll("button.withdraw"), function (button) {
      button.addEventListener("click", function () {
        if (!window.confirm("Einwilligung widerrufen? Die Angaben werden überall gelöscht.")) return;
        send("POST", "/api/contacts/" + button.dataset.contact + "/withdraw").then(function (result) {
          if (result.status === 200) window.location.reload();
          else show(message, errorText(result.data));
        });
      });
    });
  }

  function initEventForm() {
    var form = document.getElementById("event-form");
    if (!form) return;
    var message = form.querySelector("[role=alert]");
    function checked(name) {
      return Array.prototype.filter.call(form.elements[name], function (box) { return box.checked; })
        .map(function (box) { return box.value; });
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var regions = Array.prototype.map.call(form.elements.regions.selectedOptions,
        function (option) { return option.value; });
      var projects = form.elements.project_ids.value.split(",").map(function (v) { return v.trim(); })
        .filter(Boolean).map(Number);
      send("POST", "/api/events", {
        type: form.elements.type.value, title: form.elements.title.value,
        held_on: form.elements.held_on.value,
        participants: form.elements.participants.value === "" ? null : Number(form.elements.participants.value),
        groups: checked("groups"), topics: checked("topics"), outcome: form.elements.outcome.value,
        system: form.dataset.system, regions: regions, project_ids: projects
      }).then(function (result) {
        if (result.status === 201) window.location.reload();
        else show(message, errorText(result.data));
      });
    });
  }

  sz.initProjectMap = initProjectMap;
  sz.initHistory = initHistory;
  sz.initContacts = initContacts;
  sz.initEventForm = initEventForm;
})(window.sozialraum);
