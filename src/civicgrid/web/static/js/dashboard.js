/* The leader dashboard: the trend, category and channel charts (ECharts) and the grid choropleth (Leaflet).
 * No inline script (CSP): the figures come from the JSON script tag #dashboard-data. Names come from the database
 * (grids, categories, departments an administrator typed), so tooltips are DOM nodes filled with textContent,
 * never HTML strings. Every chart is a shortcut: the tables under it carry the same numbers and links, and the
 * page works without this file.
 *
 * When a chart is drawn its element gets data-rendered="true"; when the choropleth is drawn its element gets
 * data-ready="true" (browser tests wait for these). The Leaflet map is kept on the element as civicgridMap. */
(function () {
  "use strict";

  function enhanceForm() {
    var period = document.getElementById("f-period");
    var range = document.getElementById("custom-range");
    if (period && range) {
      var sync = function () { range.hidden = period.value !== "custom"; };
      period.addEventListener("change", sync);
      sync();
    }
    document.querySelectorAll("select.rank-by").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
  }

  enhanceForm();
  var source = document.getElementById("dashboard-data");
  if (!source) { return; }
  var data = JSON.parse(source.textContent);
  var charts = [];

  function formatNumber(value, unit) {
    if (value === null || value === undefined) { return "—"; }
    var digits = unit === "" ? 0 : 1;
    return value.toLocaleString("zh-CN", { minimumFractionDigits: digits, maximumFractionDigits: digits }) + unit;
  }

  function tip(title, lines) {
    var box = document.createElement("div");
    box.className = "chart-tip";
    var head = document.createElement("strong");
    head.textContent = title;
    box.appendChild(head);
    lines.forEach(function (line) {
      var row = document.createElement("div");
      row.textContent = line;
      box.appendChild(row);
    });
    return box;
  }

  function follow(links) {
    return function (params) {
      var link = links[params.dataIndex];
      if (link) { window.location.assign(link); }
    };
  }

  function chart(id, option, links) {
    var element = document.getElementById(id);
    if (!element || typeof echarts === "undefined") { return; }
    var instance = echarts.init(element, null, { renderer: "canvas" });
    instance.setOption(option);
    if (links) {
      instance.on("click", follow(links));
      instance.getZr().setCursorStyle("pointer");
    }
    charts.push(instance);
    element.setAttribute("data-rendered", "true");
  }

  var palette = ["#b71c1c", "#0d47a1", "#2e7d32", "#f57c00", "#6a1b9a", "#00838f", "#5d4037", "#c2185b", "#455a64"];

  function drawTrend() {
    var trend = data.trend;
    chart("trend-chart", {
      color: ["#0d47a1", "#b71c1c"],
      grid: { left: 48, right: 52, top: 40, bottom: 36 },
      legend: { top: 0, data: ["受理量", "办结率"] },
      tooltip: {
        trigger: "axis",
        formatter: function (items) {
          var index = items[0].dataIndex;
          return tip(trend.labels[index], [
            "受理量：" + formatNumber(trend.received[index], ""),
            "办结率：" + formatNumber(trend.closure_rate[index], "%"),
          ]);
        },
      },
      xAxis: { type: "category", data: trend.labels, axisLabel: { hideOverlap: true } },
      yAxis: [
        { type: "value", name: "件", minInterval: 1 },
        { type: "value", name: "%", min: 0, max: 100, splitLine: { show: false } },
      ],
      series: [
        { name: "受理量", type: "bar", data: trend.received, barMaxWidth: 28 },
        { name: "办结率", type: "line", yAxisIndex: 1, data: trend.closure_rate, connectNulls: false, symbolSize: 6 },
      ],
    }, trend.links);
  }

  function drawCategories() {
    var category = data.category;
    if (!category.labels.length) { return; }
    chart("category-chart", {
      color: ["#b71c1c"],
      grid: { left: 8, right: 40, top: 8, bottom: 8, containLabel: true },
      tooltip: {
        trigger: "item",
        formatter: function (item) { return tip(category.labels[item.dataIndex], ["受理量：" + formatNumber(item.value, "")]); },
      },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", data: category.labels, inverse: true, axisLabel: { width: 110, overflow: "truncate" } },
      series: [{ type: "bar", data: category.received, barMaxWidth: 22, label: { show: true, position: "right" } }],
    }, category.links);
  }

  function drawChannels() {
    var channel = data.channel;
    var element = document.getElementById("channel-chart");
    if (!channel.labels.length || !element) { return; }
    var narrow = element.clientWidth < 420; // a phone: a legend underneath instead of labels that do not fit
    chart("channel-chart", {
      color: palette,
      legend: { show: narrow, bottom: 0, type: "scroll" },
      tooltip: {
        trigger: "item",
        formatter: function (item) {
          return tip(item.name, ["受理量：" + formatNumber(item.value, ""), "占比：" + formatNumber(item.percent, "%")]);
        },
      },
      series: [{
        type: "pie",
        radius: narrow ? ["30%", "58%"] : ["38%", "68%"],
        center: ["50%", narrow ? "45%" : "50%"],
        data: channel.labels.map(function (label, index) { return { name: label, value: channel.received[index] }; }),
        label: { show: !narrow, formatter: "{b}\n{d}%" },
      }],
    }, channel.links);
  }

  // --- the choropleth ------------------------------------------------------------------------------------------

  var RAMPS = {
    volume: ["#e3f2fd", "#90caf9", "#42a5f5", "#1e88e5", "#0d47a1"],
    good: ["#c62828", "#ef8a62", "#fddbc7", "#a6d96a", "#1a9641"], // worst → best
  };
  var NO_DATA = "#cfd8dc";

  function classes(values, count) {
    var present = values.filter(function (v) { return v !== null && v !== undefined; });
    if (!present.length) { return null; }
    var low = Math.min.apply(null, present);
    var high = Math.max.apply(null, present);
    var breaks = [];
    for (var i = 1; i < count; i += 1) { breaks.push(low + (high - low) * i / count); }
    return { low: low, high: high, breaks: breaks };
  }

  function classOf(value, scale) {
    var index = 0;
    while (index < scale.breaks.length && value > scale.breaks[index]) { index += 1; }
    return index;
  }

  function rampFor(indicator) {
    if (indicator.higher_is_better === null) { return RAMPS.volume; }
    return indicator.higher_is_better ? RAMPS.good : RAMPS.good.slice().reverse();
  }

  function drawMap() {
    var config = data.map;
    var element = document.getElementById("grid-choropleth");
    var select = document.getElementById("map-indicator");
    var legend = document.getElementById("choropleth-legend");
    if (!element || typeof L === "undefined") { return; }
    var map = L.map(element, { zoomSnap: 0.25, scrollWheelZoom: false });
    element.civicgridMap = map;
    map.setView([36.39, 120.45], 11);
    if (config.tiles) {
      L.tileLayer(config.tiles.url, { attribution: config.tiles.attribution, maxZoom: 19 }).addTo(map);
    }
    var layer = null;
    var indicators = {};
    config.indicators.forEach(function (item) { indicators[item.key] = item; });

    function current() { return indicators[select.value] || config.indicators[0]; }

    function valueOf(feature) {
      var grid = config.grids[feature.properties.code];
      return grid ? grid.values[current().key] : null;
    }

    function restyle() {
      if (!layer) { return; }
      var indicator = current();
      var ramp = rampFor(indicator);
      var values = [];
      layer.eachLayer(function (polygon) { values.push(valueOf(polygon.feature)); });
      var scale = classes(values, ramp.length);
      layer.setStyle(function (feature) {
        var value = valueOf(feature);
        var fill = value === null || value === undefined || !scale ? NO_DATA : ramp[classOf(value, scale)];
        return { color: "#37474f", weight: 1, fillColor: fill, fillOpacity: 0.75 };
      });
      drawLegend(indicator, ramp, scale);
    }

    function drawLegend(indicator, ramp, scale) {
      var items = [];
      if (scale) {
        var edges = [scale.low].concat(scale.breaks, [scale.high]);
        ramp.forEach(function (colour, index) {
          if (scale.low === scale.high && index > 0) { return; }
          var range = scale.low === scale.high
            ? formatNumber(scale.low, indicator.unit)
            : formatNumber(edges[index], indicator.unit) + " – " + formatNumber(edges[index + 1], indicator.unit);
          items.push(legendItem(scale.low === scale.high ? ramp[ramp.length - 1] : colour, range));
        });
      }
      items.push(legendItem(NO_DATA, "无数据"));
      var title = document.createElement("li");
      title.textContent = indicator.label + "：";
      legend.replaceChildren.apply(legend, [title].concat(items));
    }

    function legendItem(colour, text) {
      var item = document.createElement("li");
      var swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = colour;
      item.appendChild(swatch);
      item.appendChild(document.createTextNode(text));
      return item;
    }

    function tooltipFor(feature) {
      var grid = config.grids[feature.properties.code];
      var indicator = current();
      var box = tip(grid ? grid.name : feature.properties.name, [
        indicator.label + "：" + formatNumber(valueOf(feature), indicator.unit),
      ]);
      box.className = "choropleth-tip";
      return box;
    }

    var levels = config.levels.map(function (level) { return "&level=" + encodeURIComponent(level); }).join("");
    var url = "/api/v1/grid/geojson?root=" + encodeURIComponent(config.scope) + "&crs=" + config.crs + levels;
    fetch(url, { headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (collection) {
        var features = (collection.features || []).filter(function (feature) {
          return Object.prototype.hasOwnProperty.call(config.grids, feature.properties.code);
        });
        layer = L.geoJSON({ type: "FeatureCollection", features: features }, {
          onEachFeature: function (feature, polygon) {
            polygon.bindTooltip(function () { return tooltipFor(feature); }, { sticky: true });
            var grid = config.grids[feature.properties.code];
            if (grid && grid.href && feature.properties.code !== config.scope) {
              polygon.on("click", function () { window.location.assign(grid.href); });
            }
          },
        }).addTo(map);
        element.civicgridLayer = layer;
        restyle();
        if (features.length) {
          map.fitBounds(layer.getBounds(), { padding: [8, 8], animate: false });
        } else {
          legend.replaceChildren(legendItem(NO_DATA, "下辖网格尚未落图，无法着色"));
        }
        element.setAttribute("data-ready", "true");
      })
      .catch(function () {
        legend.replaceChildren(legendItem(NO_DATA, "网格边界加载失败，请刷新页面重试。"));
        element.setAttribute("data-ready", "error");
      });
    select.addEventListener("change", restyle);
  }

  drawTrend();
  drawCategories();
  drawChannels();
  drawMap();
  window.addEventListener("resize", function () { charts.forEach(function (instance) { instance.resize(); }); });
})();
