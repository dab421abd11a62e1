/* The command centre's page: what #cc-config says (who is looking, what the API lets them do,
   the communes and kinds, the messages in the page's language), the words and formats built on
   it, the filters every panel reads, and the hub through which one panel asks another for
   something (main.js fills it in: the panels import this module, never each other). */
import { formatters, pageLanguage, readJSON, translator } from "../shared.js";

const island = document.getElementById("cc-config");
export const mapBox = document.getElementById("map");
export const cfg = readJSON(island && island.dataset.config);
export const can = cfg.can || {};
export const api = cfg.api || {};
export const lang = cfg.lang || pageLanguage(island);

/** Whether this page is the command centre and has what it needs (its map library loaded). */
export const ready = Boolean(island && mapBox && window.L);

export const { t, lookup } = translator(cfg.messages);
const format = formatters(lang, cfg.timeZone);
export const num = format.number;
export const percent = format.percent;
export const when = format.dateTime;

const communeNames = new Map((cfg.communes || []).map((c) => [c.insee, c.name]));
const kindLabels = new Map((cfg.kinds || []).map((k) => [k.key, k.label]));
export const kindLabel = (k) => kindLabels.get(k) || lookup("kind." + k) || k || "";
export const statusLabel = (s) => lookup("status." + s) || s || "";
export const communeName = (insee) => communeNames.get(insee) || insee || "";
/** The communes of the viewer's scope (all of them for those who see everything). */
export const scopeCommunes = () => communeNames.keys();
export const inScope = (insee) => communeNames.has(insee);
export const scopeSize = () => communeNames.size;

// For the benchmark and the browser tests (their names are read from outside: keep them).
export const perf = (window.__metropilot = {
  mapReady: false,
  liveUpdates: 0,
  queued: 0,
  frames: 0,
  mapDraws: 0,
  assetsLoaded: 0,
  startedAt: performance.now(),
  readyAt: null,
});

// ---- Filters ----------------------------------------------------------------------------------

const communeSelect = document.getElementById("cc-commune");
export const filters = {
  commune: communeSelect ? communeSelect.value : "",
  kinds: new Set((cfg.kinds || []).map((k) => k.key)),
};
const allKinds = () => filters.kinds.size === (cfg.kinds || []).length;
/** The kind filter as the API takes it: "" for every kind. */
export const kindParam = () => (allKinds() ? "" : Array.from(filters.kinds).join(","));

/** What the panels share beyond the filters. */
export const view = {
  selected: null, // the asset whose panel is open: {id, returnFocus}
  territory: null, // L.LatLngBounds of every commune, once they are drawn
};

/**
 * What one panel asks of another. main.js sets each entry when the page starts:
 * openAsset(id, opener), openAlarm(id), openCase(id, opener, said), reloadCases(),
 * showTab(key, focus), setKind(kind, on), applyCommune(insee), renderInView(), tickClocks(),
 * loadFleet(), loadAssets(), reloadEverything().
 */
export const actions = {};

export function errorText(error) {
  if (error && error.name === "AbortError") return "";
  return t("cc.error", { message: (error && error.message) || String(error) });
}
