// The public notices map: each notice's area (the polygon drawn for it, or the outline of
// the premises it reaches snapped to a 100 m grid) on a plain background, no tiles. Active
// notices in red, past ones in grey; a click opens the notice.
(function () {
  "use strict";

  function start() {
    const el = document.getElementById("notices-map");
    const node = document.getElementById("notices-map-data");
    if (!el || !node || typeof L === "undefined") return;
    const data = JSON.parse(node.textContent);
    const map = L.map(el, { zoomSnap: 0.25, attributionControl: false });
    el.leafletMap = map; // for tests
    const layer = L.geoJSON(data, {
      style: function (f) {
        const active = f.properties.active;
        return { color: active ? "#c0392b" : "#7f8c8d", weight: 2, fillOpacity: active ? 0.25 : 0.1 };
      },
      pointToLayer: function (f, latlng) {
        const active = f.properties.active;
        return L.circleMarker(latlng, { radius: 10, color: active ? "#c0392b" : "#7f8c8d", weight: 2, fillOpacity: 0.3 });
      },
      onEachFeature: function (f, shape) {
        const p = f.properties;
        const box = document.createElement("div");
        const link = document.createElement("a");
        link.href = p.url;
        link.textContent = p.title;
        const when = document.createElement("div");
        when.textContent = p.when;
        box.appendChild(link);
        box.appendChild(when);
        shape.bindPopup(box);
        shape.bindTooltip(p.title);
        shape.on("add", function () {
          const path = shape.getElement ? shape.getElement() : null;
          if (path) {
            path.setAttribute("data-testid", "map-area");
            path.setAttribute("data-notice", p.number);
          }
        });
      },
    }).addTo(map);
    const bounds = layer.getBounds();
    if (bounds.isValid()) map.fitBounds(bounds, { padding: [20, 20], maxZoom: 16 });
    else map.setView([29.87, 121.55], 12);
    el.dataset.areas = String(data.features.length);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
