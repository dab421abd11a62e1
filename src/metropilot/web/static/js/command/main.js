/* The command centre starts here: the panels are wired to each other through page.actions, the
   stream is followed first (nothing that happens while the page loads is missed), then the
   communes, the streets and the assets are drawn, and the panels load. The benchmark waits on
   <html data-map-ready="1"> and reads window.__metropilot (see page.js and live.js). */
import { closeAsset, openAsset } from "./asset-panel.js";
import { openAlarm, refreshAlarm } from "./alarm-detail.js";
import { loadAlarms, wireAlarms } from "./alarms.js";
import { openCase } from "./case-detail.js";
import { loadCounts } from "./counts.js";
import { $ } from "./dom.js";
import { loadFleet, wireFleet } from "./fleet.js";
import { applyCommune, setKind, wireFilters } from "./filters.js";
import { renderInView, wireInView } from "./inview.js";
import { loadKpis, wireKpis } from "./kpis.js";
import { exposeForTests, follow, reloadEverything } from "./live.js";
import {
  cancelScheduledAssets,
  createMap,
  loadAssets,
  loadCommunes,
  loadLocalStreets,
  loadMainStreets,
} from "./map.js";
import { actions, errorText, mapBox, perf, ready, view } from "./page.js";
import { loadReports, wireReports } from "./reports.js";
import { wireSearch } from "./search.js";
import { showFirstTab, showTab, wireTabs } from "./tabs.js";
import { loadCases, reloadCases, tickClocks, wireWork } from "./work.js";

function wire() {
  Object.assign(actions, {
    openAsset,
    openAlarm,
    alarmChanged: refreshAlarm,
    openCase,
    reloadCases,
    showTab,
    setKind,
    applyCommune,
    renderInView,
    tickClocks,
    loadFleet,
    loadAssets,
    reloadEverything,
  });
  wireInView();
  wireAlarms();
  wireReports();
  wireWork();
  wireFleet();
  wireKpis();
  wireTabs();
  wireSearch();
  wireFilters();
  $("cc-asset-close").addEventListener("click", closeAsset);
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && view.selected && !e.defaultPrevented) {
      e.preventDefault();
      closeAsset();
    }
  });
  setInterval(tickClocks, 1000);
}

async function drawMap() {
  try {
    await loadCommunes();
  } catch (error) {
    const mapStatus = $("map-status");
    if (mapStatus) mapStatus.textContent = errorText(error);
  }
  cancelScheduledAssets(); // the fit's moveend: this first load does it
  await Promise.allSettled([loadMainStreets(), loadAssets()]);
  perf.mapReady = true;
  perf.readyAt = performance.now();
  mapBox.dataset.mapReady = "1";
  document.documentElement.dataset.mapReady = "1";
}

/** Start the command centre (nothing happens on a page that is not one). */
export async function start() {
  if (!ready) return;
  createMap();
  wire();
  exposeForTests();
  follow(); // first: nothing that happens while the page loads is missed
  await drawMap();
  loadLocalStreets();
  loadCounts();
  loadAlarms();
  loadReports();
  loadCases();
  loadKpis();
  showFirstTab();
  // Deadlines of business-hours SLA clocks move while paused: resynchronise every minute.
  setInterval(reloadCases, 60000);
  setInterval(() => {
    const panel = $("cc-tabpanel-fleet");
    if (panel && !panel.hidden) loadFleet();
  }, 20000);
}
