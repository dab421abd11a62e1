/* The legend's counts by status and the layers' counts by kind, under the filters; live status
   changes move them between loads. */
import { getJSON, query } from "../shared.js";
import { throttle } from "./dom.js";
import { api, filters, kindParam, num } from "./page.js";

export const statusCounts = {};
const kindCounts = {};

function renderCounts() {
  for (const node of document.querySelectorAll("[data-status-count]")) {
    const n = statusCounts[node.dataset.statusCount] || 0;
    node.textContent = num(n);
    node.closest("li").classList.toggle("is-zero", !n);
  }
  for (const node of document.querySelectorAll("[data-kind-count]")) {
    node.textContent = "(" + num(kindCounts[node.dataset.kindCount] || 0) + ")";
  }
}
export const renderCountsSoon = throttle(renderCounts, 500);

function replace(target, values) {
  for (const key of Object.keys(target)) delete target[key];
  Object.assign(target, values || {});
}

export async function loadCounts() {
  try {
    const summary = await getJSON(query(api.summary, { commune: filters.commune, kind: kindParam() }));
    replace(statusCounts, summary.by_status);
    const byKind = await getJSON(query(api.summary, { commune: filters.commune }));
    replace(kindCounts, byKind.by_kind);
    renderCounts();
  } catch {
    /* Counts are a help; the map stands without them. */
  }
}

/** A live status change of an asset the filters count: move one from the old status to the new. */
export function countStatusChange(previous, status) {
  statusCounts[previous] = Math.max(0, (statusCounts[previous] || 0) - 1);
  statusCounts[status] = (statusCounts[status] || 0) + 1;
}
