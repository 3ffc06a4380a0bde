/* The location picker of the intake and action forms. No inline script (CSP); nothing typed is parsed as HTML.
 *
 * Contract:
 *   <div class="pick-map" id="pick-map" data-lon-input="lon" data-lat-input="lat" data-crs-input="crs"
 *        data-result="pick-result" data-geolocate="true"></div>
 * data-lon-input / data-lat-input / data-crs-input name the (hidden) inputs to fill — looked up by name inside the
 * element's own form first, then by id — and data-result is the id of the element that says where the point is.
 *
 * A click (or dragging the marker, or the "使用当前位置" button of data-geolocate="true") fills lon/lat with six
 * decimals and crs with the map's system, fires "input" and "change" on the three inputs and "civicgrid:picked" on the map
 * element, and writes the located grid's path into the result element. When the inputs already hold a point (a
 * form shown again after an error) the marker starts there. The element gets data-ready="true" once the grid is
 * drawn. window.civicgridPickMap is the (last) picker's Leaflet map; each element also keeps its own map in
 * element.civicgridMap. Pickers inside closed <details> are sized when they open; htmx-swapped forms are set up.
 *
 * The map's system: WGS-84 with the grid as the base map; with base tiles configured (the page's #map-tiles, e.g.
 * 高德 in GCJ-02) the map, the grid, the picked point and its crs are all in the tiles' system, so they line up. */
(function () {
  "use strict";
  var TILES = readTiles();
  var MAP_CRS = TILES ? TILES.crs : "wgs84";
  var GRID_URL = "/api/v1/grid/geojson?level=community&level=unit&crs=" + MAP_CRS;
  var GRID_STYLES = {
    community: { color: "#2e7d32", weight: 1.5, fillOpacity: 0.03 },
    unit: { color: "#f57c00", weight: 0.8, fillOpacity: 0.06 },
  };
  var CHINA = [35.0, 105.0];
  var gridRequest = null; // one request for every picker on the page

  function gridCollection() {
    if (!gridRequest) {
      gridRequest = fetch(GRID_URL, { headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : { features: [] }; })
        .catch(function () { return { features: [] }; });
    }
    return gridRequest;
  }

  function readTiles() {
    var element = document.getElementById("map-tiles");
    if (!element) { return null; }
    try { return JSON.parse(element.textContent); } catch (error) { return null; }
  }

  function inMapSystem(answer) {
    // The locate service answers in WGS-84 and GCJ-02: the point where this map draws it.
    return MAP_CRS === "gcj02"
      ? L.latLng(answer.lat_gcj02, answer.lon_gcj02)
      : L.latLng(answer.lat_wgs84, answer.lon_wgs84);
  }

  function text(value) {
    var span = document.createElement("span");
    span.textContent = value;
    return span;
  }

  function describe(data) {
    if (data.error) { return data.error.message; }
    if (data.inside) {
      var path = data.path.map(function (node) { return node.name; }).join(" › ");
      return "所在网格：" + path + (data.on_boundary ? "（位于网格边界上）" : "");
    }
    if (data.nearest) {
      return "不在任何网格内，最近：" + data.nearest.name + "（约 " +
        Math.round(data.distance_m).toLocaleString("zh-CN") + " 米）";
    }
    return "不在任何网格内";
  }

  function locate(lon, lat, crs) {
    var url = "/api/v1/grid/locate?lon=" + encodeURIComponent(lon) + "&lat=" + encodeURIComponent(lat) +
      "&crs=" + encodeURIComponent(crs);
    return fetch(url, { headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .catch(function () { return { error: { message: "定位服务暂时不可用，位置已记录，提交后由系统归属网格。" } }; });
  }

  function geolocationError(error) {
    var reasons = { 1: "未允许获取位置", 2: "无法确定当前位置", 3: "获取位置超时" };
    return "无法使用当前位置（" + (reasons[error && error.code] || "浏览器不支持") + "），请在地图上点选。";
  }

  function Picker(element) {
    var form = element.closest("form");
    var data = element.dataset;
    this.element = element;
    this.lon = findInput(form, data.lonInput);
    this.lat = findInput(form, data.latInput);
    this.crs = findInput(form, data.crsInput);
    this.result = data.result ? document.getElementById(data.result) : null;
    this.marker = null;
    this.gridBounds = null;
    this.viewPending = true;
    this.map = L.map(element, { zoomSnap: 0.25, maxZoom: 19 }).setView(CHINA, 4);
    if (TILES) { L.tileLayer(TILES.url, { attribution: TILES.attribution, maxZoom: 19 }).addTo(this.map); }
    element.civicgridMap = this.map;
    window.civicgridPickMap = this.map;
    L.control.scale({ imperial: false }).addTo(this.map);
    this.map.on("click", function (event) { this.pick(event.latlng); }, this);
    if (data.geolocate === "true") { this.addGeolocateButton(); }
    this.watchSize();
    var picker = this;
    var prefilled = this.restore();
    gridCollection()
      .then(function (collection) { picker.drawGrid(collection); })
      .then(function () { return prefilled; })
      .finally(function () {
        picker.showView();
        element.setAttribute("data-ready", "true");
      });
  }

  function findInput(form, name) {
    if (!name) { return null; }
    var scope = form || document;
    return scope.querySelector('[name="' + CSS.escape(name) + '"]') || document.getElementById(name);
  }

  Picker.prototype.drawGrid = function (collection) {
    if (!collection.features || !collection.features.length) { return; }
    var layer = L.geoJSON(collection, {
      style: function (feature) { return GRID_STYLES[feature.properties.level] || GRID_STYLES.unit; },
      onEachFeature: function (feature, featureLayer) {
        featureLayer.bindTooltip(text(feature.properties.name), { sticky: true });
      },
    }).addTo(this.map);
    this.gridBounds = layer.getBounds();
  };

  Picker.prototype.restore = function () {
    // A form shown again (after an error) keeps its point: put the marker back, in WGS-84 whatever was typed.
    var lon = this.lon ? parseFloat(this.lon.value) : NaN;
    var lat = this.lat ? parseFloat(this.lat.value) : NaN;
    if (!isFinite(lon) || !isFinite(lat)) { return Promise.resolve(); }
    var crs = (this.crs && this.crs.value) || "wgs84";
    var picker = this;
    return locate(lon, lat, crs).then(function (answer) {
      picker.say(describe(answer));
      if (answer.error) { return; }
      picker.placeMarker(inMapSystem(answer));
    });
  };

  Picker.prototype.placeMarker = function (latlng) {
    if (this.marker) { this.marker.setLatLng(latlng); return; }
    this.marker = L.marker(latlng, { draggable: true, keyboard: true, title: "所选位置（可拖动）" }).addTo(this.map);
    this.marker.on("dragend", function () { this.pick(this.marker.getLatLng()); }, this);
  };

  Picker.prototype.pick = function (latlng) {
    var lon = latlng.lng.toFixed(6);
    var lat = latlng.lat.toFixed(6);
    this.placeMarker(latlng);
    this.fill(lon, lat);
    this.say("正在确认所在网格…");
    var picker = this;
    return locate(lon, lat, MAP_CRS).then(function (answer) {
      picker.say(describe(answer));
      picker.element.dispatchEvent(new CustomEvent("civicgrid:picked", {
        bubbles: true,
        detail: { lon: Number(lon), lat: Number(lat), crs: MAP_CRS, location: answer },
      }));
    });
  };

  Picker.prototype.fill = function (lon, lat) {
    var inputs = [[this.lon, lon], [this.lat, lat], [this.crs, MAP_CRS]];
    inputs.forEach(function (pair) { if (pair[0]) { pair[0].value = pair[1]; } });
    inputs.forEach(function (pair) {
      if (!pair[0]) { return; }
      pair[0].dispatchEvent(new Event("input", { bubbles: true }));
      pair[0].dispatchEvent(new Event("change", { bubbles: true }));
    });
  };

  Picker.prototype.say = function (message) {
    if (this.result) { this.result.textContent = message; }
  };

  Picker.prototype.addGeolocateButton = function () {
    var tools = document.createElement("div");
    tools.className = "pick-tools";
    var button = document.createElement("button");
    button.type = "button";
    button.className = "pick-geolocate";
    button.textContent = "使用当前位置";
    var hint = text("也可以在地图上点选，或拖动标记调整");
    hint.className = "pick-hint";
    tools.append(button, hint);
    this.element.insertAdjacentElement("afterend", tools);
    var picker = this;
    button.addEventListener("click", function () {
      if (!navigator.geolocation) { picker.say(geolocationError(null)); return; }
      button.disabled = true;
      button.textContent = "正在获取位置…";
      navigator.geolocation.getCurrentPosition(
        function (position) { // the Geolocation API answers in WGS-84: drawn where the map's system has it
          var coords = position.coords;
          locate(coords.longitude.toFixed(6), coords.latitude.toFixed(6), "wgs84").then(function (answer) {
            var latlng = answer.error ? L.latLng(coords.latitude, coords.longitude) : inMapSystem(answer);
            picker.map.setView(latlng, Math.max(picker.map.getZoom(), 17));
            return picker.pick(latlng);
          }).finally(done);
        },
        function (error) { picker.say(geolocationError(error)); done(); },
        { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
      );
      function done() { button.disabled = false; button.textContent = "使用当前位置"; }
    });
  };

  Picker.prototype.showView = function () {
    // A map in a closed <details> has no size yet: its view is set when it is first shown (see watchSize).
    if (!this.element.clientWidth || !this.element.clientHeight) { return; }
    this.viewPending = false;
    this.map.invalidateSize();
    if (this.marker) { this.map.setView(this.marker.getLatLng(), 17); }
    else if (this.gridBounds && this.gridBounds.isValid()) { this.map.fitBounds(this.gridBounds, { padding: [8, 8] }); }
  };

  Picker.prototype.watchSize = function () {
    if (!window.ResizeObserver) { return; }
    var picker = this;
    new ResizeObserver(function () {
      if (picker.viewPending && picker.element.getAttribute("data-ready") === "true") { picker.showView(); }
      else { picker.map.invalidateSize(); }
    }).observe(this.element);
  };

  function setUpWithin(root) {
    var elements = root.querySelectorAll ? root.querySelectorAll(".pick-map") : [];
    Array.prototype.forEach.call(elements, function (element) {
      if (!element.civicgridMap) { new Picker(element); }
    });
  }

  setUpWithin(document); // the page loads leaflet.js before this script
  document.addEventListener("htmx:load", function (event) { setUpWithin(event.target); });
})();
