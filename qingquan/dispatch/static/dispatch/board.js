// The dispatcher's board: open jobs (coloured by their most pressing clock) and crews on a
// plain Leaflet map (no tiles), refreshed with the list (HTMX polls the list; the map
// reloads its GeoJSON on the same beat).
(function () {
  "use strict";

  const COLOURS = { green: "#2ca25f", amber: "#f0a500", red: "#d7301f", grey: "#969696" };
  const CREW_COLOURS = { available: "#08519c", en_route: "#6a3d9a", on_site: "#e6550d", off_duty: "#969696" };

  function start() {
    const el = document.getElementById("board-map");
    const cfgEl = document.getElementById("board-config");
    if (!el || !cfgEl || typeof L === "undefined") return;
    const cfg = JSON.parse(cfgEl.textContent);
    const renderer = L.canvas({ tolerance: 4 });
    const map = L.map(el, {
      preferCanvas: true,
      zoomSnap: 0.25,
      renderer: renderer,
      zoomAnimation: false,
      fadeAnimation: false,
    });
    map.setView([29.87, 121.55], 11);
    let layer = null;
    let fitted = false;

    function draw(data) {
      if (layer) layer.remove();
      layer = L.geoJSON(data, {
        pointToLayer: (f, latlng) => {
          const p = f.properties;
          if (p.layer === "crew") {
            return L.circleMarker(latlng, {
              radius: 7,
              color: "#fff",
              weight: 2,
              fillColor: CREW_COLOURS[p.status] || "#333",
              fillOpacity: 1,
            }).bindTooltip(p.name + " · " + p.status_label + (p.at_depot ? " ⌂" : ""));
          }
          return L.circleMarker(latlng, {
            radius: 6 + Math.min(10, Math.sqrt(p.calls) * 2),
            color: "#222",
            weight: 1,
            fillColor: COLOURS[p.colour] || "#555",
            fillOpacity: 0.9,
          }).bindTooltip(p.number + " " + p.kind_label + " · " + p.state_label + " · " + p.calls);
        },
      }).addTo(map);
      if (!fitted && data.features.length) {
        map.fitBounds(layer.getBounds().pad(0.2), { maxZoom: 15, animate: false });
        fitted = true;
      }
      el.dataset.features = String(data.features.length);
    }

    function reload() {
      const url = cfg.geojson + (cfg.query ? "?" + cfg.query : "");
      fetch(url, { credentials: "same-origin" })
        .then((r) => (r.ok ? r.json() : null))
        .then((data) => data && draw(data))
        .catch(() => {});
    }

    reload();
    window.setInterval(reload, (cfg.refresh || 10) * 1000);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
