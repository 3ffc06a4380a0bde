/* The public map: grid boundaries and one circle per case (category, state, date; no personal data).
   No inline script (CSP); every text from the server goes in through textContent. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("public-map-config").textContent);
  var element = document.getElementById("public-map");
  var summary = document.getElementById("public-map-summary");
  var map = L.map(element, { preferCanvas: true, zoomSnap: 0.25 });
  window.civicgridPublicMap = map; // for browser tests and the console
  map.setView([36.39, 120.45], 12);
  if (config.tiles) {
    L.tileLayer(config.tiles.url, { attribution: config.tiles.attribution, maxZoom: 19 }).addTo(map);
  }
  var bounds = null;

  function say(text) { summary.textContent = text; }

  function extend(layer) {
    var layerBounds = layer.getBounds();
    if (layerBounds.isValid()) { bounds = bounds ? bounds.extend(layerBounds) : layerBounds; }
  }

  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" } }).then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.json();
    });
  }

  function loadLevel(entry) {
    var url = "/api/v1/grid/geojson?level=" + encodeURIComponent(entry.level) + "&crs=" + encodeURIComponent(config.crs);
    return getJSON(url).then(function (collection) {
      var layer = L.geoJSON(collection, {
        style: function () { return entry.style; },
        interactive: false,
      }).addTo(map);
      extend(layer);
    });
  }

  function tooltip(properties) {
    var box = document.createElement("div");
    var title = document.createElement("strong");
    title.textContent = properties.category;
    var state = document.createElement("div");
    state.textContent = properties.state_label;
    var date = document.createElement("div");
    date.textContent = "反映于 " + properties.reported_on;
    box.append(title, state, date);
    return box;
  }

  function loadCases() {
    var url = config.cases_url + "?crs=" + encodeURIComponent(config.crs);
    return getJSON(url).then(function (collection) {
      var layer = L.geoJSON(collection, {
        pointToLayer: function (feature, latlng) {
          var colour = config.colours[feature.properties.state] || "#616e7c";
          return L.circleMarker(latlng, { radius: 7, color: "#fff", weight: 1.5, fillColor: colour, fillOpacity: 0.85 });
        },
        onEachFeature: function (feature, featureLayer) {
          featureLayer.bindTooltip(tooltip(feature.properties));
        },
      }).addTo(map);
      var open = collection.features.filter(function (f) { return f.properties.state !== "closed"; }).length;
      say("办理中 " + open + " 件，近30天办结 " + (collection.features.length - open) + " 件");
      if (!bounds) { extend(layer); }
      element.setAttribute("data-points", String(collection.features.length));
    });
  }

  Promise.all(config.levels.map(loadLevel))
    .catch(function () { say("网格边界加载失败，请刷新页面重试。"); })
    .then(loadCases)
    .catch(function () { say("问题点加载失败，请刷新页面重试。"); })
    .finally(function () {
      L.control.scale({ imperial: false }).addTo(map);
      if (bounds && bounds.isValid()) { map.fitBounds(bounds, { padding: [12, 12] }); }
      element.setAttribute("data-ready", "true");
    });
})();
