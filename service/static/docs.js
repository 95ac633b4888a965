// Starts Swagger UI on the docs page (a file, not an inline script, so the page's CSP allows no inline script).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  if (typeof SwaggerUIBundle === "undefined") return; // the CDN is out of reach: the page keeps its link
  SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  });
});
