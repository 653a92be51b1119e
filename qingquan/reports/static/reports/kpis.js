// The breakdown chart: rates as bars, cases created as a line; a click drills down.
document.addEventListener("DOMContentLoaded", function () {
  var box = document.getElementById("kpi-chart");
  var source = document.getElementById("kpi-chart-data");
  if (!box || !source || !window.echarts) return;
  var d = JSON.parse(source.textContent);
  var chart = window.echarts.init(box);
  chart.setOption({
    tooltip: { trigger: "axis" },
    legend: {},
    xAxis: { type: "category", data: d.labels },
    yAxis: [
      { type: "value", name: "%", min: 0, max: 100 },
      { type: "value", name: d.names.created },
    ],
    series: [
      { name: d.names.closure, type: "bar", data: d.closure },
      { name: d.names.on_time, type: "bar", data: d.on_time },
      { name: d.names.satisfaction, type: "bar", data: d.satisfaction },
      { name: d.names.created, type: "line", yAxisIndex: 1, data: d.created },
      { name: d.names.unreachable, type: "line", yAxisIndex: 1, data: d.unreachable },
    ],
  });
  chart.on("click", function (params) {
    var url = d.drill[params.dataIndex];
    if (url) window.location.href = url;
  });
  box.dataset.ready = "1";
  window.addEventListener("resize", function () { chart.resize(); });
});
