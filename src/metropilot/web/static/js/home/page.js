/* The home page's map: what #map says (its URLs, the words in the page's language, whether the
   visitor may see the equipment), its layers, and the state the other home modules share. */
import { formatters, pageLanguage, readJSON, translator } from "../shared.js";

export const STATUS_DRAW_ORDER = ["decommissioned", "ok", "maintenance", "degraded", "offline", "fault"];
export const PROMINENT_STATUSES = new Set(["fault", "offline"]);
export const TAU = Math.PI * 2;

// The page passes its URLs and words on #map; without #map (an empty territory) nothing runs.
export const root = document.getElementById("map");
const data = root ? root.dataset : {};
export const messages = readJSON(data.messages);
export const lang = pageLanguage(root);
export const { t } = translator(messages);
export const fmt = formatters(lang).number;
export const pageSize = Number(data.pageSize) || 5000;
export const maxPoints = Number(data.maxPoints) || 40000;
export const dotsMode = data.dots || "on";
export const scoped = data.scoped === "true";
export const signInCall = document.getElementById("map-signin");

export const communesLayer = root && root.querySelector(".map__communes");
export const SVG_NS = communesLayer && communesLayer.namespaceURI; // the SVG namespace, as the HTML parser set it
export const canvas = root && root.querySelector(".map__dots");
export const context = canvas && canvas.getContext("2d");
export const focusLayer = root && root.querySelector(".map__focus");
export const labelLayer = root && root.querySelector(".map__labels");
export const kindSelect = document.getElementById("kind-select");
export const detail = document.getElementById("map-detail");
export const statusLine = document.getElementById("map-status");
export const rampLegend = document.getElementById("legend-communes");
export const statusBoxes = Array.from(document.querySelectorAll("input[data-status]"));
export const hint = detail ? detail.textContent : "";

export const state = {
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

export function kindLabel(kind) {
  return messages["kind." + kind] || kind;
}

export function setStatus(text, isError) {
  if (!statusLine) {
    return;
  }
  statusLine.textContent = text;
  statusLine.classList.toggle("is-error", Boolean(isError));
}
