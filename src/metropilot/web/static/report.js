/* Metropilot citizens' report pages: the form at /report and the public map at /reports/map.
 *
 * No library, no external resource (deployments are offline), no inline script (strict CSP):
 * the page passes its URLs and translated messages in a JSON data island, #report-config.
 * Everything here improves a page that already works without it: the map (js/report/map.js,
 * its gestures in js/report/gestures.js) and the form (js/report/form.js: the chosen category's
 * questions, a character counter, photo previews, large photos shrunk before they are sent).
 */
import { focusErrors, initCategory, initCounter, initPhotos } from "./js/report/form.js";
import { ReportMap } from "./js/report/map.js";
import { formatters, pageLanguage, readJSON, translator } from "./js/shared.js";

const configNode = document.getElementById("report-config");
if (configNode) run(readJSON(configNode.textContent));

function initMap(config, t) {
  const root = document.getElementById("rmap");
  if (!root || !window.fetch || !config.communesUrl) return;
  root.hidden = false;
  const decimal = formatters(pageLanguage(null)).decimal;
  new ReportMap(root, config, t, decimal).start();
}

function run(config) {
  const { t } = translator(config.messages);
  initCategory(config);
  initCounter(config, t);
  initPhotos(config, t);
  initMap(config, t);
  focusErrors();
}
