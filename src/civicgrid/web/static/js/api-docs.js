/* Starts swagger-ui on the OpenAPI document (kept out of the page: the CSP forbids inline script). */
(function () {
  "use strict";
  var element = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({ url: element.getAttribute("data-openapi-url"), dom_id: "#swagger-ui" });
})();
