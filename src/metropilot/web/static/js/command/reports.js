/* The citizens' reports to triage (new or reopened): show the place, make a case of one, or mark
   it triaged. */
import { getJSON, postJSON, query } from "../shared.js";
import { $, announce, el, outcome, renderList, throttle } from "./dom.js";
import { assets, map } from "./map.js";
import { actions, api, can, communeName, errorText, filters, num, t, when } from "./page.js";

let reports = [];
const reportsList = $("cc-reports-list");

function reportItem(r) {
  return el(
    "li",
    { class: "cc-item", "data-key": r.id },
    el(
      "div",
      { class: "cc-item__main" },
      el("span", { class: "cc-pri", text: r.priority || "" }),
      el("strong", { text: t("cc.report_line", { id: r.id, category: r.category }) }),
      el("span", { class: "cc-meta", text: `${communeName(r.commune)} · ${when(r.requested_at)}${r.address ? " · " + r.address : ""}` }),
      r.description ? el("span", { class: "cc-desc", text: r.description.slice(0, 160) }) : null
    ),
    el(
      "div",
      { class: "cc-item__actions" },
      el("button", { type: "button", class: "button button--small", "data-action": "place", text: t("cc.show_place") }),
      can.reportCase ? el("button", { type: "button", class: "button button--small button--primary", "data-action": "case", text: t("cc.report_case") }) : null,
      can.triageReports ? el("button", { type: "button", class: "button button--small", "data-action": "triaged", text: t("cc.report_triaged") }) : null
    ),
    el("p", { class: "cc-outcome", role: "status" })
  );
}

export async function loadReports() {
  if (!can.reports || !reportsList) return;
  try {
    const answer = await getJSON(query(api.reports, { state: "new,reopened", commune: filters.commune, limit: 50 }));
    reports = answer.items || [];
    const count = $("cc-reports-count");
    if (count) count.textContent = num(reports.length);
    renderList(reportsList, reports, reportItem, t("cc.reports_none"));
  } catch (error) {
    renderList(reportsList, [], null, errorText(error));
  }
}
export const reloadReports = throttle(loadReports, 1500);

async function act(button, id, result) {
  button.disabled = true;
  try {
    if (button.dataset.action === "case") {
      const c = await postJSON(`/api/v1/reports/${id}/case`, {});
      outcome(result, t("cc.report_case_done", { id: c.id }), false);
      actions.reloadCases();
    } else if (button.dataset.action === "triaged") {
      await postJSON(`/api/v1/reports/${id}/state`, { state: "triaged" });
      outcome(result, t("cc.report_triaged_done"), false);
      setTimeout(reloadReports, 1500);
    }
  } catch (error) {
    outcome(result, errorText(error), true);
  } finally {
    button.disabled = false;
  }
}

export function wireReports() {
  if (!reportsList) return;
  reportsList.addEventListener("click", (e) => {
    const button = e.target.closest("button[data-action]");
    if (!button) return;
    const item = button.closest("[data-key]");
    const id = Number(item.dataset.key);
    const report = reports.find((r) => r.id === id);
    if (button.dataset.action === "place") {
      if (!report) return;
      assets.ring({ lon: report.lon, lat: report.lat });
      map.flyTo([report.lat, report.lon], Math.max(map.getZoom(), 17));
      return;
    }
    act(button, id, item.querySelector(".cc-outcome"));
  });
}

/** A report submitted in view: reload the list and say so. */
export function reportSubmitted(e) {
  if (!can.reports || (filters.commune && e.commune !== filters.commune)) return;
  reloadReports();
  announce(t("cc.new_report", { category: e.category || "", commune: communeName(e.commune) }));
}
