/* The grid map: one Leaflet layer per grid level, click to locate. No inline script (CSP). */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("map-config").textContent);
  var element = document.getElementById("grid-map");
  var result = document.getElementById("locate-result");
  var map = L.map(element, { preferCanvas: true, zoomSnap: 0.25 });
  window.civicgridMap = map; // for browser tests and the console
  if (config.tiles) {
    L.tileLayer(config.tiles.url, { attribution: config.tiles.attribution, maxZoom: 19 }).addTo(map);
  }
  var overlays = {};
  var bounds = null;
  var pending = config.levels.length;
  map.setView([36.39, 120.45], 11);

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
        overlays[entry.label + "（" + collection.features.length + "）"] = layer;
        layer.addTo(map);
        if (collection.features.length) {
          bounds = bounds ? bounds.extend(layer.getBounds()) : layer.getBounds();
        }
      })
      .catch(function () { result.replaceChildren(text("网格数据加载失败，请刷新页面重试。")); })
      .finally(function () {
        pending -= 1;
        if (pending === 0) { finish(); }
      });
  }

  function finish() {
    L.control.layers(null, overlays, { collapsed: window.innerWidth < 760 }).addTo(map);
    L.control.scale({ imperial: false }).addTo(map);
    if (bounds && bounds.isValid()) { map.fitBounds(bounds, { padding: [12, 12] }); }
    element.setAttribute("data-ready", "true");
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
      });
  });

  if (pending === 0) { finish(); } else { config.levels.forEach(loadLevel); }
})();
