/* Metropilot: starts Swagger UI on the /docs page (our code, AGPL-3.0-or-later, not upstream).
 *
 * FastAPI's own docs page starts Swagger UI from an inline script, which the platform's
 * Content-Security-Policy (script-src 'self') refuses; this file is that script, served from
 * /static/. The page passes the OpenAPI URL in data-openapi-url on #swagger-ui.
 */
(function () {
  "use strict";

  var root = document.getElementById("swagger-ui");
  if (!root || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  var SwaggerUIBundle = window.SwaggerUIBundle;

  window.ui = SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    domNode: root,
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    // No call to the public validator service: deployments may be offline.
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
  });
})();
