/* The filters: the commune (select, or a row of the commune table) and the kinds (the layers'
   boxes). A change reloads what depends on it. */
import { loadAlarms, reloadAlarms, renderAlarms } from "./alarms.js";
import { loadCounts } from "./counts.js";
import { $ } from "./dom.js";
import { fleetShown, loadFleet } from "./fleet.js";
import { loadKpis } from "./kpis.js";
import { fitToFilter, restyleCommunes, scheduleAssets } from "./map.js";
import { filters } from "./page.js";
import { loadReports } from "./reports.js";
import { loadCases } from "./work.js";

export function applyCommune(insee) {
  filters.commune = insee;
  restyleCommunes();
  fitToFilter(true);
  loadCounts();
  loadAlarms();
  loadReports();
  loadCases();
  if (fleetShown()) loadFleet();
  loadKpis();
}

export function setKind(kind, on) {
  const box = $("cc-layer-" + kind);
  if (box) box.checked = on;
  if (on) filters.kinds.add(kind);
  else filters.kinds.delete(kind);
  scheduleAssets();
  loadCounts();
  renderAlarms();
}

export function wireFilters() {
  const communeSelect = $("cc-commune");
  if (communeSelect) communeSelect.addEventListener("change", () => applyCommune(communeSelect.value));
  for (const box of document.querySelectorAll(".cc-layers input[name='kind']")) {
    box.addEventListener("change", () => {
      setKind(box.value, box.checked);
      reloadAlarms();
    });
  }
}
