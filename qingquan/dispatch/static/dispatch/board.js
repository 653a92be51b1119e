// The dispatcher's board: open jobs (coloured by their most pressing clock) and crews on a
// plain Leaflet map (no tiles) over the pipe network (the network app's GeoJSON, drawn
// once, under the jobs), refreshed with the list. Changes are pushed over the staff
// websocket (`qingquan:event`, kind "dispatch", see dispatch/live.py): the list and the
// map are read again at once and clock alerts are shown; HTMX polling of the list and the
// map's own beat stay as the fallback when the socket is down.
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
    el.leafletMap = map; // for tests and the browser console
    map.createPane("network");
    map.getPane("network").style.zIndex = 350; // under the jobs and crews (overlay pane 400)
    let layer = null;
    let fitted = false;

    function pipeColour(d) {
      if (d <= 100) return "#c6dbef";
      if (d <= 300) return "#6baed6";
      if (d <= 600) return "#2171b5";
      return "#08306b";
    }

    function drawNetwork(data) {
      const pipes = data.features.filter((f) => f.properties.layer === "pipe" || f.properties.layer === "source");
      const network = L.geoJSON({ type: "FeatureCollection", features: pipes }, {
        pane: "network",
        interactive: false,
        style: (f) => ({
          color: pipeColour(f.properties.diameter_mm || 0),
          weight: (f.properties.diameter_mm || 0) >= 300 ? 3 : 1.5,
          opacity: 0.8,
          dashArray: f.properties.status === "closed" ? "3 3" : null,
        }),
        pointToLayer: (f, latlng) => L.circleMarker(latlng, {
          pane: "network", radius: 5, color: "#3f007d", weight: 2, fillColor: "#6a51a3", fillOpacity: 0.8, interactive: false,
        }),
      }).addTo(map);
      el.dataset.pipes = String(pipes.filter((f) => f.properties.layer === "pipe").length);
      if (!fitted && network.getLayers().length) {
        map.fitBounds(network.getBounds().pad(0.05), { animate: false });
      }
    }

    if (cfg.network) {
      fetch(cfg.network, { credentials: "same-origin" })
        .then((r) => (r.ok ? r.json() : null))
        .then((data) => data && drawNetwork(data))
        .catch(() => {});
    }

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

    // Live pushes: one re-read of the list and the map for a burst of changes.
    const live = document.getElementById("board-live");
    const alerts = document.getElementById("board-alerts");
    let pending = null;
    function alert(event) {
      const words = (cfg.alerts || {})[event.clock + ":" + event.state];
      if (!words || !alerts) return;
      const item = document.createElement("p");
      item.className = "board-alert " + (event.state === "breached" ? "red" : "amber");
      item.dataset.testid = "board-alert";
      item.dataset.job = event.job;
      item.textContent = words.replace("%(job)s", event.job);
      alerts.prepend(item);
      while (alerts.children.length > 8) alerts.lastElementChild.remove();
    }
    document.addEventListener("qingquan:event", (e) => {
      const event = e.detail || {};
      if (event.kind !== "dispatch") return;
      if (live) live.dataset.pushes = String((parseInt(live.dataset.pushes, 10) || 0) + 1);
      if (event.change === "alert") alert(event);
      if (pending) return;
      pending = window.setTimeout(() => {
        pending = null;
        document.body.dispatchEvent(new CustomEvent("dispatch-board"));
        reload();
      }, 250);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
