/* A case's small map: one marker and, when given, its grid highlighted. No inline script (CSP).
 *
 *   <div class="mini-map" id="case-map" data-lon="120.1" data-lat="36.1" data-label="..." data-grid-code="..."></div>
 *
 * data-lon/data-lat are WGS-84 (as stored). The label is shown through textContent, never parsed as HTML. The grid
 * comes from /api/v1/grid/geojson?root=<code>, which answers the node and its subtree; the node itself is picked by
 * code. The element gets data-ready="true" when drawn; window.civicgridMiniMap is the (last) mini map.
 * With base tiles configured (the page's #map-tiles, e.g. 高德 in GCJ-02) the tiles are drawn and the point and the
 * grid are shown in the tiles' system (the point through the locate service), so they line up. */
(function () {
  "use strict";
  var TILES = (function () {
    var element = document.getElementById("map-tiles");
    try { return element ? JSON.parse(element.textContent) : null; } catch (error) { return null; }
  })();
  var MAP_CRS = TILES ? TILES.crs : "wgs84";
  var HIGHLIGHT = { color: "#b71c1c", weight: 2, fillColor: "#f57c00", fillOpacity: 0.12 };

  function label(value) {
    var span = document.createElement("span");
    span.textContent = value;
    return span;
  }

  function gridFeature(code) {
    var url = "/api/v1/grid/geojson?root=" + encodeURIComponent(code) + "&crs=" + MAP_CRS;
    return fetch(url, { headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { features: [] }; })
      .then(function (collection) {
        return (collection.features || []).filter(function (feature) { return feature.properties.code === code; })[0];
      })
      .catch(function () { return undefined; }); // the marker alone is still worth showing
  }

  function inMapSystem(lon, lat) {
    // The stored point is WGS-84; on GCJ-02 tiles it is drawn where the locate service puts it in GCJ-02.
    if (MAP_CRS !== "gcj02") { return Promise.resolve(L.latLng(lat, lon)); }
    var url = "/api/v1/grid/locate?lon=" + lon + "&lat=" + lat + "&crs=wgs84";
    return fetch(url, { headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (answer) { return L.latLng(answer.lat_gcj02, answer.lon_gcj02); })
      .catch(function () { return L.latLng(lat, lon); });
  }

  function MiniMap(element) {
    var data = element.dataset;
    var lat = parseFloat(data.lat);
    var lon = parseFloat(data.lon);
    if (!isFinite(lat) || !isFinite(lon)) { element.setAttribute("data-ready", "true"); return; }
    var mini = this;
    inMapSystem(lon, lat).then(function (point) { mini.draw(element, point); });
  }

  MiniMap.prototype.draw = function (element, point) {
    var data = element.dataset;
    this.element = element;
    this.point = point;
    this.bounds = null;
    this.viewPending = true;
    this.map = L.map(element, { zoomSnap: 0.25, maxZoom: 19, scrollWheelZoom: false }).setView(this.point, 16);
    if (TILES) { L.tileLayer(TILES.url, { attribution: TILES.attribution, maxZoom: 19 }).addTo(this.map); }
    element.civicgridMap = this.map;
    window.civicgridMiniMap = this.map;
    var marker = L.marker(this.point, { keyboard: false, title: data.label || "" }).addTo(this.map);
    if (data.label) {
      marker.bindTooltip(label(data.label), {
        permanent: true, direction: "top", offset: [-16, -4], className: "mini-map-label",
      });
    }
    this.watchSize();
    var mini = this;
    var grid = data.gridCode ? gridFeature(data.gridCode) : Promise.resolve(undefined);
    grid.then(function (feature) {
      if (feature) { mini.highlight(feature); }
    }).finally(function () {
      mini.showView();
      element.setAttribute("data-ready", "true");
    });
  };

  MiniMap.prototype.highlight = function (feature) {
    var layer = L.geoJSON(feature, { style: function () { return HIGHLIGHT; } }).addTo(this.map);
    layer.eachLayer(function (polygon) {
      polygon.bindTooltip(label(feature.properties.name), { sticky: true });
    });
    layer.bringToBack();
    this.bounds = layer.getBounds().extend(this.point);
  };

  MiniMap.prototype.showView = function () {
    if (!this.element.clientWidth || !this.element.clientHeight) { return; } // hidden: shown by watchSize
    this.viewPending = false;
    this.map.invalidateSize();
    if (this.bounds && this.bounds.isValid()) {
      // Room above the point for the marker's pin and its label.
      this.map.fitBounds(this.bounds, { paddingTopLeft: [24, 76], paddingBottomRight: [24, 16], maxZoom: 17 });
    }
    else { this.map.setView(this.point, 16); }
  };

  MiniMap.prototype.watchSize = function () {
    if (!window.ResizeObserver) { return; }
    var mini = this;
    new ResizeObserver(function () {
      if (mini.viewPending && mini.element.getAttribute("data-ready") === "true") { mini.showView(); }
      else { mini.map.invalidateSize(); }
    }).observe(this.element);
  };

  Array.prototype.forEach.call(document.querySelectorAll(".mini-map[data-lat][data-lon]"), function (element) {
    if (!element.civicgridMap) { new MiniMap(element); }
  });
})();
