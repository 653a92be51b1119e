// The online service hall's script (no inline script: the CSP runs none).
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el instanceof HTMLElement && el.hasAttribute("data-autosubmit") && el.form) {
    el.form.requestSubmit ? el.form.requestSubmit() : el.form.submit();
  }
  // "Select all open bills" of the pay form.
  if (el instanceof HTMLInputElement && el.hasAttribute("data-all")) {
    document.querySelectorAll("input[name=bill]").forEach((box) => { box.checked = el.checked; });
  }
});

// Usage chart: volume as bars and amount as a line, from the json_script data.
document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("usage-chart");
  const data = document.getElementById("usage-data");
  if (box && data && window.echarts) {
    const d = JSON.parse(data.textContent);
    const chart = window.echarts.init(box, null, { renderer: "svg" });
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { data: [d.labels.volume, d.labels.amount] },
      grid: { left: 40, right: 40, top: 36, bottom: 28 },
      xAxis: { type: "category", data: d.months },
      yAxis: [{ type: "value", name: "m³" }, { type: "value", name: "¥" }],
      series: [
        { name: d.labels.volume, type: "bar", data: d.volume, itemStyle: { color: "#1f6fb2" } },
        { name: d.labels.amount, type: "line", yAxisIndex: 1, data: d.amount, itemStyle: { color: "#b25a1f" } },
      ],
    });
    window.addEventListener("resize", () => chart.resize());
  }
  // Map pin: the browser's position fills the hidden latitude/longitude fields.
  const pin = document.getElementById("pin-here");
  if (pin) {
    pin.addEventListener("click", () => {
      const out = document.getElementById("pin-status");
      if (!navigator.geolocation) { out.textContent = pin.dataset.unavailable; return; }
      navigator.geolocation.getCurrentPosition((pos) => {
        document.querySelector("input[name=latitude]").value = pos.coords.latitude.toFixed(6);
        const lon = document.querySelector("input[name=longitude]");
        lon.value = pos.coords.longitude.toFixed(6);
        lon.dispatchEvent(new Event("change")); // the map pin follows
        out.textContent = pos.coords.latitude.toFixed(5) + ", " + pos.coords.longitude.toFixed(5);
      }, () => { out.textContent = pin.dataset.unavailable; });
    });
  }
});
