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
 * An ES module: the words, requests and number formats come from js/shared.js, the map's
 * arithmetic from js/home/geometry.js.
 */
import { ringsOf } from "./js/geo.js";
import { anchorOf, boundsOf, boxesClash, classOf, makeProjection, pathData, rampIndex, rampUppers } from "./js/home/geometry.js";
import { formatters, getJSON, pageLanguage, readJSON, translator } from "./js/shared.js";

const STATUS_DRAW_ORDER = ["decommissioned", "ok", "maintenance", "degraded", "offline", "fault"];
const PROMINENT_STATUSES = new Set(["fault", "offline"]);
const TAU = Math.PI * 2;

// The page passes its URLs and words on #map; without #map (an empty territory) nothing runs.
const root = document.getElementById("map");
const data = root ? root.dataset : {};
const messages = readJSON(data.messages);
const lang = pageLanguage(root);
const { t } = translator(messages);
const fmt = formatters(lang).number;
const pageSize = Number(data.pageSize) || 5000;
const maxPoints = Number(data.maxPoints) || 40000;
const dotsMode = data.dots || "on";
const scoped = data.scoped === "true";
const signInCall = document.getElementById("map-signin");

const communesLayer = root && root.querySelector(".map__communes");
const SVG_NS = communesLayer && communesLayer.namespaceURI; // the SVG namespace, as the HTML parser set it
const canvas = root && root.querySelector(".map__dots");
const context = canvas && canvas.getContext("2d");
const focusLayer = root && root.querySelector(".map__focus");
const labelLayer = root && root.querySelector(".map__labels");
const kindSelect = document.getElementById("kind-select");
const detail = document.getElementById("map-detail");
const statusLine = document.getElementById("map-status");
const rampLegend = document.getElementById("legend-communes");
const statusBoxes = Array.from(document.querySelectorAll("input[data-status]"));
const hint = detail ? detail.textContent : "";

const state = {
  communes: [], // {insee, name, population, count, rings, path, label}
  bounds: null, // {minLon, minLat, maxLon, maxLat, k}
  projection: null,
  width: 0,
  height: 0,
  summary: { by_kind: {}, by_status: {}, by_commune: {} },
  points: new Map(), // kind -> {byStatus: Map(status -> [lon, lat, lon, lat, ...]), loaded, ...}
  current: null,
  controller: null,
  hidden: new Set(),
  colours: new Map(),
  focused: null,
  refused: 0, // the HTTP status that refused the equipment (401 or 403), once it did
};

function kindLabel(kind) {
  return messages["kind." + kind] || kind;
}

function setStatus(text, isError) {
  if (!statusLine) {
    return;
  }
  statusLine.textContent = text;
  statusLine.classList.toggle("is-error", Boolean(isError));
}

/* ---- Communes: shading by amount of equipment ----------------------------------------- */

function shadeCommunes() {
  const counts = state.communes.map(function (commune) {
    return commune.count;
  });
  const ramp = rampUppers(counts);
  for (const commune of state.communes) {
    const index = rampIndex(classOf(commune.count, ramp.uppers), ramp.uppers.length, commune.count);
    commune.path.setAttribute("class", "ramp-" + index);
  }
  if (!rampLegend) {
    return;
  }
  rampLegend.replaceChildren();
  let lower = ramp.min;
  ramp.uppers.forEach(function (upper, i) {
    const item = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = "swatch ramp-" + rampIndex(i, ramp.uppers.length, upper);
    swatch.setAttribute("aria-hidden", "true");
    const text = lower === upper ? fmt(upper) : fmt(lower) + "\u2013" + fmt(upper);
    item.append(swatch, document.createTextNode(text));
    rampLegend.append(item);
    lower = upper + 1;
  });
}

function describe(commune) {
  return t("map.commune_detail", {
    name: commune.name,
    insee: commune.insee,
    count: fmt(commune.count),
    population: fmt(commune.population),
  });
}

function highlightRow(insee) {
  for (const row of document.querySelectorAll("tr[data-insee]")) {
    row.classList.toggle("is-highlighted", row.dataset.insee === insee);
  }
}

function showCommune(commune, byKeyboard) {
  focusLayer.replaceChildren();
  if (!commune) {
    if (detail) {
      detail.textContent = hint;
      detail.classList.add("is-hint");
    }
    highlightRow(null);
    return;
  }
  const outline = document.createElementNS(SVG_NS, "path");
  outline.setAttribute("d", commune.path.getAttribute("d") || "");
  if (byKeyboard) {
    outline.setAttribute("class", "is-focus");
  }
  focusLayer.append(outline);
  if (detail) {
    detail.textContent = describe(commune);
    detail.classList.remove("is-hint");
  }
  highlightRow(commune.insee);
}

function buildCommunes(collection) {
  const features = (collection && collection.features) || [];
  state.communes = features
    .map(function (feature) {
      const props = feature.properties || {};
      return {
        insee: String(props.insee || feature.id || ""),
        name: String(props.name || props.insee || ""),
        population: Number(props.population) || 0,
        centre: Array.isArray(props.centre) && props.centre.length === 2 ? props.centre : null,
        count: 0,
        rings: ringsOf(feature.geometry),
        path: null,
        title: null,
      };
    })
    .filter(function (commune) {
      return commune.rings.length > 0;
    });
  state.communes.sort(function (a, b) {
    return a.name.localeCompare(b.name, lang);
  });
  state.bounds = boundsOf(state.communes);
  if (state.bounds) {
    const b = state.bounds;
    const ratio = ((b.maxLon - b.minLon) * b.k) / Math.max(b.maxLat - b.minLat, 1e-9);
    root.style.setProperty("--map-ratio", String(Math.min(2, Math.max(0.6, ratio))));
  }

  communesLayer.replaceChildren();
  state.communes.forEach(function (commune, index) {
    const path = document.createElementNS(SVG_NS, "path");
    const title = document.createElementNS(SVG_NS, "title");
    path.setAttribute("role", "img");
    path.setAttribute("tabindex", index === 0 ? "0" : "-1");
    path.dataset.index = String(index);
    path.append(title);
    commune.path = path;
    commune.title = title;
    path.addEventListener("pointerenter", function () {
      showCommune(commune, false);
    });
    path.addEventListener("pointerleave", function () {
      showCommune(state.focused, true);
    });
    path.addEventListener("focus", function () {
      state.focused = commune;
      for (const other of state.communes) {
        other.path.setAttribute("tabindex", other === commune ? "0" : "-1");
      }
      showCommune(commune, true);
    });
    path.addEventListener("blur", function () {
      state.focused = null;
      showCommune(null, false);
    });
    communesLayer.append(path);
  });
  labelCommunes();
}

function labelCommunes() {
  for (const commune of state.communes) {
    const text = describe(commune);
    commune.title.textContent = text;
    commune.path.setAttribute("aria-label", text);
  }
}

// Arrow keys move between communes (one tab stop for the whole map), in alphabetical order.
function onMapKey(event) {
  const target = event.target;
  if (!target || !target.dataset || target.dataset.index === undefined) {
    return;
  }
  const count = state.communes.length;
  let index = Number(target.dataset.index);
  switch (event.key) {
    case "ArrowRight":
    case "ArrowDown":
      index = (index + 1) % count;
      break;
    case "ArrowLeft":
    case "ArrowUp":
      index = (index - 1 + count) % count;
      break;
    case "Home":
      index = 0;
      break;
    case "End":
      index = count - 1;
      break;
    default:
      return;
  }
  event.preventDefault();
  state.communes[index].path.focus();
}

// Names of the communes, the most populated first, skipping any that would overlap another.
function placeLabels() {
  labelLayer.replaceChildren();
  if (state.width < 420) {
    return; // too small to read: the names are on hover, on focus and in the table
  }
  const placed = [];
  const byPopulation = state.communes.slice().sort(function (a, b) {
    return b.population - a.population;
  });
  for (const commune of byPopulation) {
    const anchor = anchorOf(commune, state.projection);
    if (!anchor) {
      continue;
    }
    const text = document.createElementNS(SVG_NS, "text");
    text.setAttribute("x", anchor[0].toFixed(1));
    text.setAttribute("y", anchor[1].toFixed(1));
    text.textContent = commune.name;
    labelLayer.append(text);
    const box = text.getBBox();
    const gapX = 8; // the white halo is not in the bounding box
    const gapY = 2;
    const clash = placed.some(function (other) {
      return boxesClash(box, other, gapX, gapY);
    });
    const outside =
      box.x < 0 || box.y < 0 || box.x + box.width > state.width || box.y + box.height > state.height;
    if (clash || outside) {
      text.remove();
    } else {
      placed.push(box);
    }
  }
}

/* ---- Equipment dots ------------------------------------------------------------------- */

function colourOf(status) {
  if (!state.colours.has(status)) {
    const value = getComputedStyle(document.documentElement)
      .getPropertyValue("--status-" + status)
      .trim();
    state.colours.set(status, value || "#3d4452");
  }
  return state.colours.get(status);
}

function drawOrder(statuses) {
  const unknown = statuses.filter(function (status) {
    return STATUS_DRAW_ORDER.indexOf(status) < 0;
  });
  return unknown.concat(STATUS_DRAW_ORDER);
}

function drawPoints() {
  const width = state.width;
  const height = state.height;
  context.setTransform(1, 0, 0, 1, 0, 0);
  context.clearRect(0, 0, canvas.width, canvas.height);
  const ratio = window.devicePixelRatio || 1;
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  const set = state.points.get(state.current);
  if (!set || !state.projection || !width || !height) {
    return;
  }
  const projection = state.projection;
  // Dots shrink as they crowd: about a third of the mean spacing, between 1.2 and 4 px.
  const spacing = Math.sqrt((width * height) / Math.max(set.loaded, 1));
  const base = Math.min(4, Math.max(1.2, spacing * 0.3));
  for (const status of drawOrder(Array.from(set.byStatus.keys()))) {
    const coords = set.byStatus.get(status);
    if (!coords || !coords.length || state.hidden.has(status)) {
      continue;
    }
    // Statuses that need someone come last and a little larger: never hidden by the rest.
    const radius = PROMINENT_STATUSES.has(status) ? base * 1.35 : base;
    context.beginPath();
    for (let i = 0; i < coords.length; i += 2) {
      const x = projection.x(coords[i]);
      const y = projection.y(coords[i + 1]);
      context.moveTo(x + radius, y);
      context.arc(x, y, radius, 0, TAU);
    }
    // A white halo first, so every colour keeps its contrast whatever lies underneath.
    context.lineWidth = Math.min(1.5, base * 0.8);
    context.strokeStyle = "#ffffff";
    context.stroke();
    context.fillStyle = colourOf(status);
    context.fill();
  }
}

function announce(kind, set) {
  const label = kindLabel(kind);
  if (scoped) {
    // The summary counts the whole metropolis; this viewer sees a part of it.
    setStatus(
      set.loaded
        ? t("map.points_scoped", { kind: label, count: fmt(set.loaded) })
        : t("map.no_points_scoped", { kind: label })
    );
  } else if (!set.loaded) {
    setStatus(t("map.no_points", { kind: label }));
  } else if (set.capped) {
    setStatus(
      t("map.points_capped", {
        kind: label,
        count: fmt(set.loaded),
        total: fmt(Math.max(set.total, set.loaded)),
      })
    );
  } else {
    setStatus(t("map.points_shown", { kind: label, count: fmt(set.loaded) }));
  }
}

function loadingMessage(kind, loaded, total) {
  if (scoped) {
    return t("map.loading_points_scoped", { kind: kindLabel(kind), loaded: fmt(loaded) });
  }
  return t("map.loading_points", { kind: kindLabel(kind), loaded: fmt(loaded), total: fmt(total) });
}

// The API refused the equipment: the session ended (401) or the account does not see it (403).
function refuse(status) {
  state.refused = status;
  state.points.clear();
  drawPoints();
  if (status === 401) {
    if (signInCall) {
      signInCall.hidden = false;
    }
    setStatus(t("map.session_ended"), true);
  } else {
    setStatus(t("map.no_access"), true);
  }
}

// A page of equipment (GeoJSON points) into the kind's coordinates by status, up to maxPoints.
function addPoints(set, features) {
  for (const feature of features) {
    if (set.loaded >= maxPoints) {
      break;
    }
    const geometry = feature.geometry;
    if (!geometry || geometry.type !== "Point") {
      continue;
    }
    const status = String((feature.properties && feature.properties.status) || "ok");
    let coords = set.byStatus.get(status);
    if (!coords) {
      coords = [];
      set.byStatus.set(status, coords);
    }
    coords.push(geometry.coordinates[0], geometry.coordinates[1]);
    set.loaded += 1;
  }
}

async function loadKind(kind) {
  state.current = kind;
  if (state.controller) {
    state.controller.abort();
    state.controller = null;
  }
  if (state.refused) {
    refuse(state.refused);
    return;
  }
  const cached = state.points.get(kind);
  if (cached && cached.complete) {
    drawPoints();
    announce(kind, cached);
    return;
  }
  const total = Number((state.summary.by_kind || {})[kind]) || 0;
  const set = { byStatus: new Map(), loaded: 0, total: total, complete: false, capped: false };
  state.points.set(kind, set);
  const controller = new AbortController();
  state.controller = controller;
  root.setAttribute("aria-busy", "true");
  setStatus(loadingMessage(kind, 0, total));
  let cursor = null;
  try {
    do {
      const params = new URLSearchParams({ kind: kind, limit: String(pageSize), format: "geojson" });
      if (cursor) {
        params.set("cursor", cursor);
      }
      const page = await getJSON(root.dataset.assetsUrl + "?" + params.toString(), controller.signal);
      addPoints(set, page.features || []);
      cursor = page.next_cursor || null;
      if (cursor && set.loaded >= maxPoints) {
        set.capped = true;
        cursor = null;
      }
      if (state.current === kind) {
        drawPoints();
        if (cursor) {
          setStatus(loadingMessage(kind, set.loaded, Math.max(total, set.loaded)));
        }
      }
    } while (cursor);
    set.complete = true;
    if (state.current === kind) {
      announce(kind, set);
    }
  } catch (error) {
    state.points.delete(kind);
    if (error && error.name === "AbortError") {
      return;
    }
    if (error && (error.status === 401 || error.status === 403)) {
      refuse(error.status);
    } else if (state.current === kind) {
      setStatus(t("map.error"), true);
    }
  } finally {
    if (state.controller === controller) {
      state.controller = null;
      root.setAttribute("aria-busy", "false");
    }
  }
}

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
