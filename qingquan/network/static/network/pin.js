// A form's map pin: the staff's new-case form draws the network's pipes as the map (no
// tiles unless a tile URL is configured), the online hall's repair report only the
// service area's outline (config without `geojson`); a click sets the hidden longitude
// and latitude fields (`data-pin-lon`, `data-pin-lat`), which the server checks. The
// staff form shows it for repair kinds only (`repair_kinds`; null: always).
(function () {
  "use strict";

  function colour(d) {
    if (d <= 100) return "#9ecae1";
    if (d <= 300) return "#4292c6";
    if (d <= 600) return "#08519c";
    return "#08306b";
  }

  function start() {
    const box = document.querySelector("[data-pin-map]");
    const cfgNode = document.getElementById("pin-config");
    if (!box || !cfgNode || typeof L === "undefined") return;
    const cfg = JSON.parse(cfgNode.textContent);
    const el = box.querySelector(".pinmap-map");
    const form = box.closest("form");
    const lon = box.querySelector("input[data-pin-lon]");
    const lat = box.querySelector("input[data-pin-lat]");
    const text = box.querySelector("[data-pin-text]");
    const kind = form ? form.elements.kind : null;
    let map = null;
    let marker = null;

    function describe() {
      if (lon.value && lat.value) {
        text.textContent = box.dataset.msgPin.replace("{lon}", lon.value).replace("{lat}", lat.value);
      } else {
        text.textContent = box.dataset.msgNone;
      }
    }

    function drawMarker() {
      if (!map) return;
      if (marker) { map.removeLayer(marker); marker = null; }
      const x = parseFloat(lon.value);
      const y = parseFloat(lat.value);
      if (isNaN(x) || isNaN(y)) return;
      marker = L.circleMarker([y, x], {
        radius: 8, color: "#000", weight: 2, fillColor: "#f03b20", fillOpacity: 0.9, interactive: false,
      }).addTo(map);
    }

    function setPin(latlng) {
      lon.value = latlng.lng.toFixed(6);
      lat.value = latlng.lat.toFixed(6);
      drawMarker();
      describe();
      el.dataset.pin = lon.value + "," + lat.value;
    }

    function build() {
      const renderer = L.canvas({ tolerance: 4 });
      map = L.map(el, { preferCanvas: true, zoomSnap: 0.25, renderer: renderer });
      if (cfg.tiles) L.tileLayer(cfg.tiles, { maxZoom: 19 }).addTo(map);
      const b = cfg.bounds;
      const x = parseFloat(lon.value);
      const y = parseFloat(lat.value);
      if (!isNaN(x) && !isNaN(y)) map.setView([y, x], 16);
      else if (b) map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { padding: [6, 6] });
      else map.setView([29.87, 121.55], 12);
      el.leafletMap = map; // for tests and the browser console
      map.on("click", function (e) { setPin(e.latlng); });
      drawMarker();
      if (cfg.area) {
        const a = cfg.area;
        L.rectangle([[a[1], a[0]], [a[3], a[2]]], {
          color: "#1f6fb2", weight: 2, fill: false, dashArray: "6 4", interactive: false,
        }).addTo(map);
      }
      if (!cfg.geojson) {
        el.dataset.loaded = "area";
        return;
      }
      fetch(cfg.geojson, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) return;
          L.geoJSON(data, {
            renderer: renderer,
            interactive: false,
            style: function (f) {
              const d = f.properties.diameter_mm;
              return { color: colour(d), weight: d > 300 ? 3 : 1.5 };
            },
          }).addTo(map);
          el.dataset.loaded = String(data.features.length);
        });
    }

    // Repairs only: other kinds neither show the map nor send a pin.
    function sync() {
      const repair = !kind || !cfg.repair_kinds || cfg.repair_kinds.indexOf(kind.value) >= 0;
      box.hidden = !repair;
      lon.disabled = !repair;
      lat.disabled = !repair;
      if (!repair) return;
      if (!map) build();
      else map.invalidateSize();
    }

    box.querySelector("[data-pin-clear]").addEventListener("click", function () {
      lon.value = "";
      lat.value = "";
      drawMarker();
      describe();
      el.dataset.pin = "";
    });
    if (kind) kind.addEventListener("change", sync);
    // Set from elsewhere (the browser's position): the marker follows.
    lon.addEventListener("change", function () {
      drawMarker();
      describe();
      el.dataset.pin = lon.value && lat.value ? lon.value + "," + lat.value : "";
      const y = parseFloat(lat.value);
      const x = parseFloat(lon.value);
      if (map && !isNaN(x) && !isNaN(y)) map.setView([y, x], 16);
    });
    describe();
    sync();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
