/* Leaflet's own controls in Chinese, for every map of the pages: loaded right after leaflet.js, before the page's
 * map script creates its map. */
(function () {
  "use strict";
  L.Control.Zoom.prototype.options.zoomInTitle = "放大";
  L.Control.Zoom.prototype.options.zoomOutTitle = "缩小";
  L.Control.Attribution.prototype.options.prefix = "";
})();
