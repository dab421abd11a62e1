/* The live stream (/api/v1/stream, EventSource): events are queued and applied once per
   animation frame, so that hundreds a second never make a long task: the map is redrawn at most
   once a frame, the lists at most every few hundred milliseconds. A gap in the stream, or a
   stream closed for good, reloads everything. */
import { assetStatusChanged } from "./asset-panel.js";
import { applyAlarmEvent, loadAlarms, reloadAlarms, renderAlarms } from "./alarms.js";
import { countStatusChange, loadCounts, renderCountsSoon } from "./counts.js";
import { throttle } from "./dom.js";
import { assets, loadAssets, map } from "./map.js";
import { actions, api, can, filters, mapBox, perf } from "./page.js";
import { loadReports, reportSubmitted } from "./reports.js";
import { loadCases, reloadCases } from "./work.js";

const queue = [];
let frameRequested = false;
const reloadAssetsSoon = throttle(loadAssets, 5000);
const FRAME_BUDGET = 4000;

const STREAM_TYPES = [
  "asset.status",
  "alarm.raised",
  "alarm.acknowledged",
  "alarm.cleared",
  "alarm.escalated",
  "case.opened",
  "case.routed",
  "case.triaged",
  "case.changed",
  "case.resolved",
  "case.closed",
  "work_order.sla",
  "work_order.changed",
  "report.submitted",
];

function enqueue(type, event) {
  let data;
  try {
    data = JSON.parse(event.data);
  } catch {
    return;
  }
  queue.push([type, data]);
  perf.queued++;
  if (!frameRequested) {
    frameRequested = true;
    requestAnimationFrame(applyQueue);
  }
}

// One asset's new status: true when that asset is drawn (the map is then redrawn once).
function applyAssetStatus(e, changed) {
  if (assets.setStatus(e.asset, e.status)) changed.redraw = true;
  else if (assets.mode === "clusters") changed.clustered = true;
  const counted = (!filters.commune || e.commune === filters.commune) && filters.kinds.has(e.kind);
  if (counted && e.previous_status) countStatusChange(e.previous_status, e.status);
  assetStatusChanged(e.asset, e.status);
}

function applyEvent(type, e, changed) {
  if (type === "asset.status") {
    applyAssetStatus(e, changed);
  } else if (type.startsWith("alarm.")) {
    changed.alarms = true;
    applyAlarmEvent(type, e);
  } else if (type === "report.submitted") {
    reportSubmitted(e);
  } else if (type.startsWith("case.") || type.startsWith("work_order.")) {
    reloadCases();
  }
}

function applyQueue() {
  frameRequested = false;
  perf.frames++;
  const batch = queue.splice(0, FRAME_BUDGET);
  const changed = { redraw: false, clustered: false, alarms: false };
  for (const [type, e] of batch) applyEvent(type, e, changed);
  perf.liveUpdates += batch.length;
  if (changed.redraw) {
    assets.redraw();
    perf.mapDraws++;
    actions.renderInView();
  }
  if (changed.clustered) reloadAssetsSoon();
  if (changed.alarms) {
    renderAlarms();
    reloadAlarms(); // the events lack a few fields (the asset's reference): fill them in soon
  }
  if (batch.length) renderCountsSoon();
  mapBox.dataset.liveUpdates = String(perf.liveUpdates);
  document.documentElement.dataset.liveUpdates = String(perf.liveUpdates);
  if (queue.length && !frameRequested) {
    frameRequested = true;
    requestAnimationFrame(applyQueue);
  }
}

/** For benchmarks and tests: an event as the stream would deliver it, through the same queue. */
export function exposeForTests() {
  perf.inject = (type, data) => enqueue(type, { data: JSON.stringify(data) });
  perf.map = map;
  perf.layer = assets;
}

export async function reloadEverything() {
  await Promise.allSettled([loadAssets(), loadCounts(), loadAlarms(), loadReports(), loadCases()]);
}

export function follow() {
  if (!can.stream || !window.EventSource) return;
  const stream = new EventSource(api.stream);
  for (const type of STREAM_TYPES) stream.addEventListener(type, (event) => enqueue(type, event));
  stream.addEventListener("stream.gap", () => reloadEverything());
  stream.addEventListener("open", () => {
    mapBox.dataset.stream = "open";
  });
  stream.onerror = () => {
    mapBox.dataset.stream = stream.readyState === EventSource.CLOSED ? "closed" : "reconnecting";
    if (stream.readyState === EventSource.CLOSED) {
      setTimeout(() => reloadEverything().then(follow), 5000);
    }
  };
}
