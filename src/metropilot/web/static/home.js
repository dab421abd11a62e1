/* Metropilot home page: the map of the metropolis, drawn from the public API.
 *
 * No library and no external resource (deployments are offline), no inline script (strict CSP):
 * the page passes its URLs and translated messages in data-* attributes of #map.
 *  - communes: GeoJSON boundaries drawn as SVG paths, shaded by their amount of equipment;
 *  - equipment of the chosen kind: dots on a <canvas> (tens of thousands draw in milliseconds),
 *    coloured by status, fetched page by page following next_cursor.
 * The communes and their counts are public; the equipment is not. data-dots says what the server
 * decided: "on" (signed in: the API answers with the viewer's own scope, data-scoped="true" when
 * that is less than the whole metropolis), "off" (anonymous: the page shows a call to sign in
 * instead) or "forbidden" (an account that does not see the registry). A session that ends while
 * the page is open makes the API answer 401: the call to sign in appears then.
 *
 * This entry module lays the map out, wires the controls and starts; the pieces are ES modules
 * under js/home/: page.js (what #map says, the shared state), communes.js, dots.js, and
 * geometry.js (the arithmetic), with the words, requests and formats of js/shared.js.
 */
import { buildCommunes, labelCommunes, onMapKey, placeLabels, shadeCommunes, showCommune } from "./js/home/communes.js";
import { drawPoints, loadKind } from "./js/home/dots.js";
import { makeProjection, pathData } from "./js/home/geometry.js";
import { canvas, communesLayer, detail, dotsMode, fmt, focusLayer, kindLabel, kindSelect, labelLayer, root, scoped, setStatus, state, statusBoxes, t } from "./js/home/page.js";
import { getJSON } from "./js/shared.js";

/* ---- Layout --------------------------------------------------------------------------- */

function layout() {
  const width = root.clientWidth;
  const height = root.clientHeight;
  if (!state.bounds || !width || !height) {
    return;
  }
  if (width === state.width && height === state.height) {
    return;
  }
  state.width = width;
  state.height = height;
  const legend = root.parentElement.querySelector(".legend--ramp");
  const overlaid = legend && getComputedStyle(legend).position === "absolute";
  state.projection = makeProjection(state.bounds, width, height, overlaid ? legend.offsetHeight : 0);
  const viewBox = "0 0 " + width + " " + height;
  communesLayer.setAttribute("viewBox", viewBox);
  focusLayer.setAttribute("viewBox", viewBox);
  labelLayer.setAttribute("viewBox", viewBox);
  for (const commune of state.communes) {
    commune.path.setAttribute("d", pathData(commune.rings, state.projection));
  }
  placeLabels();
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const outlined = focusLayer.firstElementChild;
  if (outlined) {
    showCommune(state.focused, true);
  }
  drawPoints();
}


/* ---- Controls ------------------------------------------------------------------------- */

function addMissingKinds(kinds) {
  if (!kindSelect || !kinds) {
    return;
  }
  const present = new Set(
    Array.from(kindSelect.options).map(function (option) {
      return option.value;
    })
  );
  for (const kind of Object.keys(kinds)) {
    if (!present.has(kind)) {
      const option = document.createElement("option");
      option.value = kind;
      const count = Number((state.summary.by_kind || {})[kind]) || 0;
      // The counts are the whole metropolis': only shown to those who see all of it.
      option.textContent = scoped ? kindLabel(kind) : kindLabel(kind) + " (" + fmt(count) + ")";
      kindSelect.append(option);
    }
  }
}

function kindFromHash() {
  const match = /(?:^#|&)kind=([a-z_]+)/.exec(window.location.hash);
  return match ? match[1] : null;
}

function wireControls() {
  if (kindSelect) {
    const wanted = kindFromHash();
    if (
      wanted &&
      Array.from(kindSelect.options).some(function (option) {
        return option.value === wanted;
      })
    ) {
      kindSelect.value = wanted;
    }
    kindSelect.addEventListener("change", function () {
      if (window.history && window.history.replaceState) {
        window.history.replaceState(null, "", "#kind=" + encodeURIComponent(kindSelect.value));
      }
      loadKind(kindSelect.value);
    });
  }
  for (const box of statusBoxes) {
    box.addEventListener("change", function () {
      if (box.checked) {
        state.hidden.delete(box.dataset.status);
      } else {
        state.hidden.add(box.dataset.status);
      }
      drawPoints();
    });
    if (!box.checked) {
      state.hidden.add(box.dataset.status);
    }
  }
  communesLayer.addEventListener("keydown", onMapKey);
  // Resize observers run once per frame, after layout and before paint: the right moment.
  if (window.ResizeObserver) {
    new ResizeObserver(layout).observe(root);
  }
  window.addEventListener("resize", layout);
}

/* ---- Start ---------------------------------------------------------------------------- */

async function begin() {
  if (detail) {
    detail.classList.add("is-hint");
  }
  wireControls();
  let communes;
  try {
    const results = await Promise.all([
      getJSON(root.dataset.communesUrl),
      getJSON(root.dataset.summaryUrl),
      getJSON(root.dataset.kindsUrl).catch(function () {
        return null; // the selector rendered by the server is enough
      }),
    ]);
    communes = results[0];
    state.summary = results[1] || state.summary;
    addMissingKinds(results[2] && results[2].kinds);
  } catch {
    root.setAttribute("aria-busy", "false");
    setStatus(t("map.error"), true);
    return;
  }
  buildCommunes(communes);
  const byCommune = state.summary.by_commune || {};
  for (const commune of state.communes) {
    commune.count = Number(byCommune[commune.insee]) || 0;
  }
  shadeCommunes();
  labelCommunes();
  layout();
  root.setAttribute("aria-busy", "false");
  if (dotsMode !== "on") {
    // No dots for this visitor: the page already says why (a call to sign in, or a notice).
    setStatus("");
    return;
  }
  const kind = kindSelect ? kindSelect.value : "streetlight";
  loadKind(kind);
}

if (root) begin();
