/* Starts swagger-ui on the OpenAPI document (kept out of the page: the CSP forbids inline script). */
(function () {
  "use strict";
  var element = document.getElementById("swagger-ui");
  // The schema section lists the models by their class names (identifiers, not words a reader needs): hidden.
  window.SwaggerUIBundle({
    url: element.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    defaultModelsExpandDepth: -1
  });
})();
