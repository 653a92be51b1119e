// The pipe network map: our own GeoJSON layers on a plain background (no tiles unless a
// tile URL is configured); a click on a pipe (or near one) draws its isolation plan and
// loads the plan panel rendered by the server.
(function () {
  "use strict";

  function colour(d) {
    if (d <= 100) return "#9ecae1";
    if (d <= 300) return "#4292c6";
    if (d <= 600) return "#08519c";
    return "#08306b";
  }

  function weight(d) {
    if (d <= 100) return 1;
    if (d <= 300) return 2;
    if (d <= 600) return 3;
    return 4.5;
  }

  const VALVE_COLOURS = { open: "#2ca25f", closed: "#555555", inoperable: "#d7301f" };

  function pipeStyle(f) {
    const d = f.properties.diameter_mm;
    const closed = f.properties.status === "closed";
    return { color: colour(d), weight: weight(d), dashArray: closed ? "3 3" : null };
  }

  function start() {
    const el = document.getElementById("netmap");
    const cfgNode = document.getElementById("network-config");
    if (!el || !cfgNode || typeof L === "undefined") return;
    const cfg = JSON.parse(cfgNode.textContent);
    const renderer = L.canvas({ tolerance: 6 });
    const map = L.map(el, { preferCanvas: true, zoomSnap: 0.25, renderer: renderer });
    if (cfg.tiles) L.tileLayer(cfg.tiles, { maxZoom: 19 }).addTo(map);
    const b = cfg.bounds;
    if (b) map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { padding: [10, 10] });
    else map.setView([29.87, 121.55], 12);
    el.leafletMap = map; // for tests and the browser console

    const panel = document.getElementById("plan-panel");
    let planLayer = null;
    let lowLayer = null;
    let lowDrawn = "";
    let clickedFeature = false;
    const pipeLayers = {};

    // The plan's hydraulic consequence: once the panel's simulation section says it is
    // done, its low-pressure junctions and their outlines are drawn (in purple).
    function drawLowPressure() {
      const section = panel.querySelector("#hydraulic[data-geojson]");
      const url = section ? section.dataset.geojson : "";
      if (url === lowDrawn) return;
      lowDrawn = url;
      if (lowLayer) { map.removeLayer(lowLayer); lowLayer = null; }
      if (!url) { el.dataset.low = ""; return; }
      fetch(url, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data || url !== lowDrawn) return;
          lowLayer = L.geoJSON(data, {
            renderer: renderer,
            style: function () { return { color: "#6a3d9a", weight: 1, fillOpacity: 0.15, dashArray: "2 4" }; },
            pointToLayer: function (f, latlng) {
              return L.circleMarker(latlng, { renderer: renderer, radius: 4, stroke: false, fillColor: "#6a3d9a", fillOpacity: 0.9 })
                .bindTooltip(f.properties.id + " · " + f.properties.after_m + " m");
            },
            interactive: false,
          }).addTo(map);
          el.dataset.low = String(data.features.filter(function (f) { return f.properties.layer === "low_pressure"; }).length);
        });
    }
    new MutationObserver(drawLowPressure).observe(panel, { childList: true, subtree: true, attributes: true });

    function showPlan(query) {
      el.dataset.plan = "loading";
      fetch(cfg.plan_panel + "?" + query, { credentials: "same-origin" })
        .then(function (r) { return r.text(); })
        .then(function (html) {
          panel.innerHTML = html;
          if (window.htmx) window.htmx.process(panel);
        });
      fetch(cfg.plan_geojson + "?" + query, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (planLayer) { map.removeLayer(planLayer); planLayer = null; }
          if (!data) { el.dataset.plan = "none"; return; }
          planLayer = L.geoJSON(data, {
            renderer: renderer,
            style: function (f) {
              const layer = f.properties.layer;
              if (layer === "segment_area") return { color: "#d7301f", weight: 1, fillOpacity: 0.12, dashArray: "4" };
              if (layer === "cut_off_area") return { color: "#fd8d3c", weight: 1, fillOpacity: 0.12, dashArray: "4" };
              if (layer === "cut_off") return { color: "#fd8d3c", weight: 4 };
              return { color: "#d7301f", weight: f.properties.burst ? 7 : 5 };
            },
            pointToLayer: function (f, latlng) {
              const close = f.properties.layer === "valve_close";
              return L.circleMarker(latlng, {
                renderer: renderer,
                radius: close ? 7 : 6,
                color: "#000",
                weight: 2,
                fillColor: close ? "#ffd60a" : "#d7301f",
                fillOpacity: 1,
              }).bindTooltip(f.properties.id);
            },
            interactive: false,
          }).addTo(map);
          const bounds = planLayer.getBounds();
          if (bounds.isValid() && !map.getBounds().contains(bounds)) {
            map.fitBounds(bounds, { maxZoom: 16, padding: [30, 30] });
          }
          el.dataset.plan = data.pipe || "";
        });
    }

    fetch(cfg.geojson, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        const pipes = { type: "FeatureCollection", features: [] };
        const points = { type: "FeatureCollection", features: [] };
        data.features.forEach(function (f) {
          (f.properties.layer === "pipe" ? pipes : points).features.push(f);
        });
        L.geoJSON(pipes, {
          renderer: renderer,
          style: pipeStyle,
          onEachFeature: function (f, layer) {
            pipeLayers[f.properties.id] = layer;
            layer.on("click", function (e) {
              clickedFeature = true;
              L.DomEvent.stopPropagation(e);
              showPlan("pipe=" + encodeURIComponent(f.properties.id));
            });
            layer.bindTooltip(f.properties.id + " · DN" + Math.round(f.properties.diameter_mm), { sticky: true });
          },
        }).addTo(map);
        // Open valves crowd a city-wide view: shown from zoom 15; closed and inoperable
        // valves and the sources always.
        const busy = { type: "FeatureCollection", features: [] };
        const always = { type: "FeatureCollection", features: [] };
        points.features.forEach(function (f) {
          (f.properties.layer === "valve" && f.properties.state === "open" ? busy : always).features.push(f);
        });
        const pointLayer = function (collection) { return L.geoJSON(collection, {
          renderer: renderer,
          pointToLayer: function (f, latlng) {
            if (f.properties.layer === "source") {
              return L.circleMarker(latlng, { renderer: renderer, radius: 7, color: "#3f007d", weight: 2, fillColor: "#6a51a3", fillOpacity: 0.9 })
                .bindTooltip(f.properties.id);
            }
            return L.circleMarker(latlng, {
              renderer: renderer, stroke: false,
              radius: f.properties.state === "open" ? 2.5 : 4,
              fillColor: VALVE_COLOURS[f.properties.state] || "#2ca25f", fillOpacity: 0.9,
              interactive: false,
            });
          },
        }); };
        pointLayer(always).addTo(map);
        const openValves = pointLayer(busy);
        const toggleValves = function () {
          if (map.getZoom() >= 15) openValves.addTo(map);
          else map.removeLayer(openValves);
        };
        map.on("zoomend", toggleValves);
        toggleValves();
        el.dataset.loaded = String(pipes.features.length);
        // A link from a case page (?pipe=ID) opens that pipe's plan at once.
        const asked = new URLSearchParams(window.location.search).get("pipe");
        if (asked && pipeLayers[asked]) showPlan("pipe=" + encodeURIComponent(asked));
      });

    // Premises at close zoom: fetched for the viewport from PREMISES_ZOOM on.
    let premiseLayer = null;
    let premiseRequest = 0;
    function loadPremises() {
      const ticket = ++premiseRequest;
      if (map.getZoom() < cfg.premises_zoom) {
        if (premiseLayer) { map.removeLayer(premiseLayer); premiseLayer = null; }
        el.dataset.premises = "";
        return;
      }
      const b = map.getBounds();
      const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(6); }).join(",");
      fetch(cfg.premises + "?bbox=" + bbox, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data || ticket !== premiseRequest) return;
          if (premiseLayer) map.removeLayer(premiseLayer);
          premiseLayer = L.geoJSON(data, {
            renderer: renderer,
            pointToLayer: function (f, latlng) {
              const p = f.properties;
              const names = p.customers && p.customers.length ? " · " + p.customers.join("、") : "";
              return L.circleMarker(latlng, { renderer: renderer, radius: 3.5, color: "#636363", weight: 1, fillColor: "#bdbdbd", fillOpacity: 0.9 })
                .bindTooltip(p.address + names);
            },
          }).addTo(map);
          el.dataset.premises = String(data.features.length);
        });
    }
    map.on("moveend", loadPremises);

    // Open repair cases (at their premise) and incidents.
    fetch(cfg.cases, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        L.geoJSON(data, {
          renderer: renderer,
          pointToLayer: function (f, latlng) {
            const p = f.properties;
            const marker = L.circleMarker(latlng, {
              renderer: renderer, radius: p.incident ? 8 : 5.5, color: "#fff", weight: 1.5,
              fillColor: p.incident ? "#bd0026" : "#f03b20", fillOpacity: 0.95,
            });
            const text = document.createElement("div");
            const link = document.createElement("a");
            link.href = p.url;
            link.textContent = p.number;
            text.appendChild(link);
            text.appendChild(document.createTextNode(" " + p.kind + " · " + p.state_label + (p.merged ? " · +" + p.merged : "")));
            if (p.address) { text.appendChild(document.createElement("br")); text.appendChild(document.createTextNode(p.address)); }
            return marker.bindPopup(text).bindTooltip(p.number + " " + p.kind);
          },
        }).addTo(map);
        el.dataset.cases = String(data.features.length);
      });

    // Search by address or account number: jump to the premise, show its segment.
    const form = document.getElementById("netmap-search");
    const list = document.getElementById("netmap-found");
    const none = document.getElementById("netmap-search-none");
    let foundLayer = null;
    let highlighted = [];
    function jump(found) {
      highlighted.forEach(function (layer) { layer.setStyle(pipeStyle(layer.feature)); });
      highlighted = [];
      found.segment_pipes.forEach(function (id) {
        const layer = pipeLayers[id];
        if (layer) { layer.setStyle({ color: "#e6550d", weight: 6, dashArray: null }); highlighted.push(layer); }
      });
      if (foundLayer) map.removeLayer(foundLayer);
      foundLayer = L.circleMarker([found.lat, found.lon], {
        renderer: renderer, radius: 9, color: "#e6550d", weight: 3, fillColor: "#fff", fillOpacity: 0.6, interactive: false,
      }).bindTooltip(found.address, { permanent: true, direction: "top" }).addTo(map);
      map.setView([found.lat, found.lon], Math.max(map.getZoom(), 18), { animate: false });
      el.dataset.found = String(found.premise);
      el.dataset.segment = String(highlighted.length);
    }
    if (form) {
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        const q = form.elements.q.value.trim();
        if (!q) return;
        fetch(cfg.search + "?q=" + encodeURIComponent(q), { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(function (results) {
            list.textContent = "";
            none.hidden = results.length > 0;
            if (results.length === 1) { jump(results[0]); return; }
            results.forEach(function (found) {
              const item = document.createElement("li");
              const button = document.createElement("button");
              button.type = "button";
              button.textContent = found.address + (found.account ? " (" + found.account + ")" : "");
              button.addEventListener("click", function () { jump(found); });
              item.appendChild(button);
              list.appendChild(item);
            });
          });
      });
    }

    map.on("click", function (e) {
      if (clickedFeature) { clickedFeature = false; return; }
      showPlan("lon=" + e.latlng.lng.toFixed(6) + "&lat=" + e.latlng.lat.toFixed(6));
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
