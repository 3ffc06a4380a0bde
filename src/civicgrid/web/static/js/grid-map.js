/* The grid map: one Leaflet layer per grid level, click to locate. No inline script (CSP).
 *
 * window.civicgridMap is the Leaflet map (for case-map.js, browser tests and the console). When the grid layers
 * are drawn the map element gets data-ready="true", the map keeps its layer switcher in map.civicgridLayers and
 * fires "civicgrid:ready" — case-map.js adds its own overlay to that switcher. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("map-config").textContent);
  var element = document.getElementById("grid-map");
  var result = document.getElementById("locate-result");
  var map = L.map(element, { preferCanvas: true, zoomSnap: 0.25, maxZoom: 19 }); // markercluster needs a maxZoom
  window.civicgridMap = map;
  var baseLayers = null;
  var overlays = {};
  var bounds = null;
  var pending = config.levels.length;
  map.setView([36.39, 120.45], 11);

  if (config.tiles) {
    // A base-map switch: the configured tiles, or none at all (the grid alone, as on an offline intranet).
    var tiles = L.tileLayer(config.tiles.url, { attribution: config.tiles.attribution, maxZoom: 19 });
    baseLayers = { "地图底图": tiles, "无底图（仅网格）": L.layerGroup() };
    tiles.addTo(map);
  }

  function text(value) {
    var span = document.createElement("span");
    span.textContent = value;
    return span;
  }

  function loadLevel(entry) {
    var url = "/api/v1/grid/geojson?level=" + encodeURIComponent(entry.level) + "&crs=" + config.crs;
    return fetch(url, { headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (collection) {
        var layer = L.geoJSON(collection, {
          style: function () { return entry.style; },
          onEachFeature: function (feature, featureLayer) {
            // A DOM node, not a string: Leaflet would parse a string as HTML, and names come from imported files.
            featureLayer.bindTooltip(text(feature.properties.name), { sticky: true });
          },
        });
        layer.civicgridLevel = entry.level;
        layer.civicgridCount = collection.features.length;
        entry.layer = layer;
      })
      .catch(function () { result.replaceChildren(text("网格数据加载失败，请刷新页面重试。")); })
      .finally(function () {
        pending -= 1;
        if (pending === 0) { finish(); }
      });
  }

  function finish() {
    // Added in level order whatever order the answers came in: the finer grids on top, the switcher in order.
    config.levels.forEach(function (entry) {
      if (!entry.layer) { return; }
      overlays[entry.label + "（" + entry.layer.civicgridCount + "）"] = entry.layer;
      entry.layer.addTo(map);
      if (entry.layer.civicgridCount) {
        bounds = bounds ? bounds.extend(entry.layer.getBounds()) : entry.layer.getBounds();
      }
    });
    map.civicgridLayers = L.control.layers(baseLayers, overlays, { collapsed: window.innerWidth < 760 }).addTo(map);
    L.control.scale({ imperial: false }).addTo(map);
    if (bounds && bounds.isValid()) { map.fitBounds(bounds, { padding: [12, 12], animate: false }); }
    map.civicgridGridBounds = bounds;
    element.setAttribute("data-ready", "true");
    map.fire("civicgrid:ready");
  }

  function showLocation(data) {
    result.replaceChildren();
    if (data.inside) {
      var leaf = text(data.node.name + "（" + data.node.level_label + "）");
      leaf.className = "leaf";
      var path = text(data.path.map(function (n) { return n.name; }).join(" › "));
      path.className = "path";
      var code = text("网格代码 " + data.node.code + (data.on_boundary ? "，位于边界上（按规则归属）" : ""));
      result.append(leaf, document.createElement("br"), path, document.createElement("br"), code);
    } else {
      var outside = text("该点不在任何网格内");
      outside.className = "outside";
      result.append(outside);
      if (data.nearest) {
        result.append(document.createElement("br"),
          text("最近：" + data.nearest.name + "，约 " + Math.round(data.distance_m).toLocaleString("zh-CN") + " 米"));
      }
    }
  }

  map.on("click", function (event) {
    var url = "/api/v1/grid/locate?lon=" + event.latlng.lng + "&lat=" + event.latlng.lat + "&crs=" + config.crs;
    fetch(url)
      .then(function (response) { return response.json(); })
      .then(function (data) {
        if (data.error) { result.replaceChildren(text(data.error.message)); return; }
        showLocation(data);
      })
      .catch(function () { result.replaceChildren(text("定位失败，请稍后重试。")); });
  });

  if (pending === 0) { finish(); } else { config.levels.forEach(loadLevel); }
})();
