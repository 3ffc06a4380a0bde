/* Case markers on the grid map (after grid-map.js): the actor's cases from /api/v1/cases/points, clustered with
 * leaflet.markercluster, coloured by state or by deadline, filtered from the side panel. No inline script (CSP);
 * case text only ever goes into text nodes, never through innerHTML.
 *
 * For tests and the console: window.civicgridMap.civicgridCases is the cluster group (getLayers() lists every
 * marker), and #grid-map carries data-cases-ready="true" and data-case-count once the markers are in. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("map-config").textContent);
  var map = window.civicgridMap;
  var element = document.getElementById("grid-map");
  var page = document.getElementById("map-page");
  var form = document.getElementById("case-filters");
  var summary = document.getElementById("case-summary");
  var legend = document.getElementById("case-legend");
  var colourChoice = document.getElementById("colour-by");
  if (!config.cases || !map || !form) { return; }

  // Legend order; the colours themselves live in map.css (.case-pin.s-<state>, .case-pin.d-<deadline>).
  var STATE_ORDER = ["reported", "registered", "dispatched", "in_progress", "handled", "suspended", "closed",
    "rejected", "merged"];
  var DEADLINES = [["overdue", "超期"], ["due_soon", "临期"], ["normal", "正常"]];

  var cluster = L.markerClusterGroup({
    showCoverageOnHover: false,
    maxClusterRadius: 48,
    spiderfyOnMaxZoom: true,
    chunkedLoading: true,
    chunkProgress: function (done, total) { if (done === total) { finishDrawing(); } },
    iconCreateFunction: clusterIcon,
  });
  cluster.civicgridCases = true;
  map.civicgridCases = cluster;
  cluster.addTo(map);

  var shown = null; // the collection on the map
  var queued = null; // an answer that arrived while the previous one was still being added
  var drawing = false;
  var latestRequest = 0;
  var fitted = false;

  function node(tag, className, text) {
    var item = document.createElement(tag);
    if (className) { item.className = className; }
    if (text !== undefined && text !== null) { item.textContent = text; }
    return item;
  }

  function deadlineOf(properties) {
    if (properties.overdue) { return "overdue"; }
    return properties.due_soon ? "due_soon" : "normal";
  }

  function caseUrl(number) { return "/cases/" + encodeURIComponent(number); }

  function popupFor(properties) {
    var box = node("div", "case-popup");
    var number = node("a", "case-number", properties.number);
    number.href = caseUrl(properties.number);
    var tags = node("p", "case-tags");
    tags.append(node("span", "badge state-" + properties.state, properties.state_label));
    if (properties.overdue) { tags.append(" ", node("span", "badge flag-overdue", "超期")); }
    else if (properties.due_soon) { tags.append(" ", node("span", "badge flag-due-soon", "临期")); }
    if (properties.category) { tags.append(" ", node("span", "case-category", properties.category)); }
    var more = node("a", "case-link", "查看案件详情 ›");
    more.href = caseUrl(properties.number);
    box.append(number, node("p", "case-title", properties.title), tags, more);
    return box;
  }

  function markerFor(feature) {
    var properties = feature.properties;
    var coordinates = feature.geometry.coordinates;
    var marker = L.marker([coordinates[1], coordinates[0]], {
      icon: L.divIcon({
        className: "case-pin s-" + properties.state + " d-" + deadlineOf(properties),
        iconSize: [16, 16],
      }),
      title: properties.number + " " + properties.title, // an attribute, set by Leaflet as a property: no HTML
      riseOnHover: true,
    });
    marker.civicgridCase = properties;
    marker.bindPopup(function () { return popupFor(properties); }, { maxWidth: 280, minWidth: 200 });
    return marker;
  }

  function clusterIcon(group) {
    var worst = "normal";
    var children = group.getAllChildMarkers();
    for (var i = 0; i < children.length; i += 1) {
      var deadline = deadlineOf(children[i].civicgridCase);
      if (deadline === "overdue") { worst = deadline; break; }
      if (deadline === "due_soon") { worst = deadline; }
    }
    var count = group.getChildCount();
    var size = count < 10 ? 30 : count < 100 ? 36 : count < 1000 ? 42 : 50;
    return L.divIcon({
      html: node("span", null, count.toLocaleString("zh-CN")),
      className: "case-cluster d-" + worst,
      iconSize: L.point(size, size),
    });
  }

  function query() {
    var params = new URLSearchParams();
    params.set("crs", config.crs); // the tiles' system, like the grid polygons, so that everything lines up
    var state = form.elements.state.value;
    if (state === "all") { params.set("open_only", "false"); }
    else if (state) { params.set("state", state); }
    var deadline = form.elements.deadline.value;
    if (deadline === "overdue") { params.set("overdue", "true"); }
    else if (deadline === "due_soon") { params.set("due_soon", "true"); }
    else if (deadline === "normal") { params.set("overdue", "false"); params.set("due_soon", "false"); }
    return params;
  }

  function load() {
    var mine = ++latestRequest;
    element.setAttribute("data-cases-ready", "false");
    summary.textContent = "正在加载案件…";
    fetch(config.cases.url + "?" + query().toString(), { headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      })
      .then(function (answer) {
        if (mine !== latestRequest) { return; } // a newer filter was chosen meanwhile
        if (!answer.ok) {
          var message = answer.body && answer.body.error ? answer.body.error.message : "案件加载失败";
          draw({ features: [], placed: 0, unplaced: 0, truncated: false, failed: message });
          return;
        }
        draw(answer.body);
      })
      .catch(function () {
        if (mine === latestRequest) {
          draw({ features: [], placed: 0, unplaced: 0, truncated: false, failed: "案件加载失败，请刷新页面重试。" });
        }
      });
  }

  function draw(collection) {
    if (drawing) { queued = collection; return; } // chunked adding cannot be interrupted: draw it afterwards
    drawing = true;
    shown = collection;
    cluster.clearLayers();
    var onMap = map.hasLayer(cluster); // hidden from the layer switcher: markercluster adds at once, silently
    cluster.addLayers(collection.features.map(markerFor), true); // on the map, chunkProgress ends the drawing
    if (!onMap) { finishDrawing(); }
  }

  function finishDrawing() {
    if (!drawing) { return; }
    drawing = false;
    if (queued) { var next = queued; queued = null; draw(next); return; }
    describe(shown);
    renderLegend();
    element.setAttribute("data-case-count", String(shown.features.length));
    element.setAttribute("data-cases-ready", "true");
    fitOnce();
  }

  function fitOnce() {
    // The grid decides the first view; only a map without grid polygons is fitted to the cases.
    if (fitted || !shown.features.length) { return; }
    whenGridReady(function () {
      fitted = true;
      var grid = map.civicgridGridBounds;
      if (!(grid && grid.isValid())) { map.fitBounds(cluster.getBounds(), { padding: [24, 24], maxZoom: 16 }); }
    });
  }

  function number(value) { return Number(value).toLocaleString("zh-CN"); }

  function describe(collection) {
    if (collection.failed) { summary.textContent = collection.failed; return; }
    var parts = [];
    parts.push(collection.features.length ? "地图上显示 " + number(collection.features.length) + " 件案件" : "没有符合条件的案件");
    if (collection.unplaced) { parts.push("另有 " + number(collection.unplaced) + " 件没有坐标，未上图"); }
    var text = parts.join("；") + "。";
    if (collection.truncated) {
      text += "案件过多，只显示最新的 " + number(collection.features.length) + " 件（共 " + number(collection.placed) +
        " 件），请用筛选缩小范围。";
    }
    summary.textContent = text;
  }

  function legendItem(pinClass, label, count) {
    var item = node("li");
    item.append(node("span", "case-pin legend-pin " + pinClass), node("span", null, label));
    if (count !== null) { item.append(node("span", "legend-count", number(count))); }
    return item;
  }

  function renderLegend() {
    legend.replaceChildren();
    var features = shown ? shown.features : [];
    if (colourMode() === "deadline") {
      var byDeadline = { overdue: 0, due_soon: 0, normal: 0 };
      features.forEach(function (f) { byDeadline[deadlineOf(f.properties)] += 1; });
      DEADLINES.forEach(function (entry) { legend.append(legendItem("d-" + entry[0], entry[1], byDeadline[entry[0]])); });
      return;
    }
    var counts = {};
    var labels = {};
    features.forEach(function (f) {
      counts[f.properties.state] = (counts[f.properties.state] || 0) + 1;
      labels[f.properties.state] = f.properties.state_label;
    });
    STATE_ORDER.forEach(function (state) {
      if (counts[state]) { legend.append(legendItem("s-" + state + " d-normal", labels[state], counts[state])); }
    });
    legend.append(legendItem("s-none d-overdue", "红圈：超期", null), legendItem("s-none d-due_soon", "橙圈：临期", null));
  }

  function colourMode() {
    var checked = colourChoice.querySelector("input[name=colour-by]:checked");
    return checked ? checked.value : "state";
  }

  function applyColourMode() {
    page.classList.toggle("colour-by-state", colourMode() === "state");
    page.classList.toggle("colour-by-deadline", colourMode() === "deadline");
    renderLegend();
  }

  function whenGridReady(callback) {
    if (element.getAttribute("data-ready") === "true") { callback(); } else { map.once("civicgrid:ready", callback); }
  }

  function rememberFilters() {
    // The address keeps the filters, so a reload or a shared link shows the same cases.
    var params = new URLSearchParams();
    if (form.elements.state.value) { params.set("state", form.elements.state.value); }
    if (form.elements.deadline.value) { params.set("deadline", form.elements.deadline.value); }
    var search = params.toString();
    window.history.replaceState(null, "", "/map" + (search ? "?" + search : ""));
  }

  form.addEventListener("change", function () { rememberFilters(); load(); });
  form.addEventListener("submit", function (event) { event.preventDefault(); rememberFilters(); load(); });
  colourChoice.addEventListener("change", applyColourMode);
  whenGridReady(function () { map.civicgridLayers.addOverlay(cluster, "案件"); });
  applyColourMode();
  load();
})();
