/* The command centre's map: Leaflet with the communes (SVG), the generated streets when there
   is no tile server (canvas), and one canvas layer for every asset of the view (command-map.js),
   reloaded for the view after each move. A click on a point opens its panel; on a cluster, zooms. */
import { AssetLayer, PAD } from "../../command-map.js";
import { getJSON, query } from "../shared.js";
import { $ } from "./dom.js";
import { bboxParam } from "./logic.js";
import { actions, api, cfg, errorText, filters, inScope, kindParam, mapBox, num, perf, scopeCommunes, scopeSize, t, view } from "./page.js";

export let map = null;
export let assets = null; // the AssetLayer
let communeRenderer = null;
let streetRenderer = null;
let communesLayer = null;
let localStreets = null;
const mapStatus = $("map-status");

/** Build the Leaflet map in #map, its panes and the asset layer. */
export function createMap() {
  map = L.map(mapBox, {
    zoomControl: true,
    keyboard: true,
    minZoom: 9,
    maxZoom: 19,
    zoomSnap: 0.25,
    zoomDelta: 1,
    worldCopyJump: false,
    attributionControl: true,
  });
  map.attributionControl.setPrefix("Leaflet");
  if (cfg.tileUrl) {
    L.tileLayer(cfg.tileUrl, { attribution: cfg.tileAttribution || "", maxZoom: 19 }).addTo(map);
  } else {
    mapBox.classList.add("cc-map--offline");
  }
  // Above the communes' fill (overlay pane, 400), under the assets; neither takes the pointer
  // (the communes keep their tooltips; clicks on assets are hit-tested from the map's events).
  map.createPane("ccStreets").style.zIndex = 410;
  map.createPane("ccAssets").style.zIndex = 450;
  communeRenderer = L.svg({ padding: 0.5 });
  streetRenderer = L.canvas({ padding: 0.5, pane: "ccStreets" });
  assets = new AssetLayer({ pane: "ccAssets" }).addTo(map);
  listen();
  return map;
}

// The communes' colours are in command.css (classes on each path): the public page's
// stylesheet styles svg.map__communes paths too, and CSS beats SVG attributes.
function communeStyle() {
  return { weight: 1.2, fillOpacity: cfg.tileUrl ? 0.05 : 1, interactive: true };
}

export function restyleCommunes() {
  if (!communesLayer) return;
  communesLayer.eachLayer((layer) => {
    const path = layer.getElement && layer.getElement();
    const insee = layer.feature && layer.feature.properties && layer.feature.properties.insee;
    if (!path) return;
    const mine = !cfg.scoped || cfg.role === "contractor" || inScope(insee);
    path.classList.add("cc-commune");
    path.classList.toggle("cc-commune--chosen", !!filters.commune && filters.commune === insee);
    path.classList.toggle("cc-commune--outside", !mine);
    if (filters.commune === insee) layer.bringToFront();
  });
}

export async function loadCommunes() {
  const collection = await getJSON(api.communes);
  communesLayer = L.geoJSON(collection, {
    renderer: communeRenderer,
    style: communeStyle,
    onEachFeature: (feature, layer) => {
      const p = feature.properties || {};
      layer.bindTooltip(p.name || p.insee || "", { sticky: true, direction: "top" });
    },
  });
  view.territory = communesLayer.getBounds();
  fitToFilter(false); // the view first: layers added to a map without one wait for it
  communesLayer.addTo(map);
  communesLayer.bringToBack();
  const container = communeRenderer._container;
  if (container) {
    container.classList.add("map__communes");
    container.setAttribute("aria-hidden", "true");
  }
  restyleCommunes();
}

function communeBounds(insee) {
  let bounds = null;
  if (!communesLayer) return null;
  communesLayer.eachLayer((layer) => {
    const p = layer.feature && layer.feature.properties;
    if (p && p.insee === insee) bounds = layer.getBounds();
  });
  return bounds;
}

/** Fit the view to the chosen commune, else the viewer's communes, else the territory. */
export function fitToFilter(animate) {
  let bounds = filters.commune ? communeBounds(filters.commune) : null;
  if (!bounds && cfg.scoped && cfg.role !== "contractor" && scopeSize()) {
    for (const insee of scopeCommunes()) {
      const b = communeBounds(insee);
      if (b) bounds = bounds ? bounds.extend(b) : L.latLngBounds(b.getSouthWest(), b.getNorthEast());
    }
  }
  bounds = bounds || view.territory;
  if (bounds && bounds.isValid()) map.fitBounds(bounds, { padding: [16, 16], animate: !!animate });
}

function streetStyle(feature) {
  const main = feature.properties && feature.properties.category === "main";
  return { color: main ? "#a9b1bb" : "#ccd2d9", weight: main ? 2.5 : 1, interactive: false };
}

export async function loadMainStreets() {
  if (!api.streets || cfg.tileUrl) return;
  try {
    const collection = await getJSON(query(api.streets, { category: "main" }));
    L.geoJSON(collection, { renderer: streetRenderer, style: streetStyle, interactive: false }).addTo(map);
  } catch {
    /* The map works without streets (an older server): boundaries and assets still show. */
  }
}

let streetsAbort = null;
export async function loadLocalStreets() {
  if (!api.streets || cfg.tileUrl) return;
  if (map.getZoom() < 14) {
    if (localStreets) localStreets.remove();
    localStreets = null;
    return;
  }
  if (streetsAbort) streetsAbort.abort();
  streetsAbort = new AbortController();
  try {
    const collection = await getJSON(
      query(api.streets, { bbox: bboxParam(map.getBounds().pad(0.25)), category: "local" }),
      streetsAbort.signal
    );
    if (localStreets) localStreets.remove();
    localStreets = L.geoJSON(collection, { renderer: streetRenderer, style: streetStyle, interactive: false }).addTo(map);
  } catch {
    /* Streets are decoration: the next move tries again. */
  }
}

let assetsAbort = null;
let assetsTimer = null;

/** The assets of the view (padded), as points or clusters, under the filters. */
export async function loadAssets() {
  if (assetsAbort) assetsAbort.abort();
  if (!filters.kinds.size) {
    assets.clear();
    afterAssets();
    return;
  }
  assetsAbort = new AbortController();
  const url = query(api.mapAssets, {
    bbox: bboxParam(map.getBounds().pad(PAD)),
    zoom: Math.round(map.getZoom()),
    kind: kindParam(),
    commune: filters.commune,
  });
  mapBox.setAttribute("aria-busy", "true");
  try {
    const answer = await getJSON(url, assetsAbort.signal);
    assets.setData(answer);
    perf.assetsLoaded++;
    afterAssets();
  } catch (error) {
    if (error.name === "AbortError") return;
    if (mapStatus) mapStatus.textContent = errorText(error);
    mapBox.setAttribute("aria-busy", "false");
  }
}

function afterAssets() {
  mapBox.setAttribute("aria-busy", "false");
  if (mapStatus) {
    const count = num(assets.total || 0);
    mapStatus.textContent =
      assets.mode === "clusters" ? t("cc.status_clusters", { count }) : t("cc.status_points", { count });
  }
  actions.renderInView();
  if (view.selected && view.selected.id !== null) assets.select(view.selected.id);
}

export function scheduleAssets() {
  clearTimeout(assetsTimer);
  assetsTimer = setTimeout(loadAssets, 120);
}

/** Forget a pending reload (the first load follows the first fit itself). */
export function cancelScheduledAssets() {
  clearTimeout(assetsTimer);
}

function listen() {
  map.on("moveend", () => {
    scheduleAssets();
    loadLocalStreets();
  });
  // Clicks on the canvas: a point opens its panel, a cluster zooms in on it.
  map.on("click", (e) => {
    const hit = assets.hitTest(e.containerPoint);
    if (!hit) return;
    if (hit.type === "point") actions.openAsset(hit.asset.id, null);
    else map.flyTo([hit.cluster.lat, hit.cluster.lon], Math.min(map.getZoom() + 2, 18));
  });
  let hoverFrame = 0;
  map.on("mousemove", (e) => {
    if (hoverFrame) return;
    hoverFrame = requestAnimationFrame(() => {
      hoverFrame = 0;
      mapBox.classList.toggle("cc-map--hit", !!assets.hitTest(e.containerPoint));
    });
  });
}

/** The asset panel takes a column from the map (wall screen): tell Leaflet its new size. */
export function resized() {
  requestAnimationFrame(() => map.invalidateSize({ pan: false }));
}
