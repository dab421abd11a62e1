/* A case's detail above the work panel's lists: its facts, its work orders with their clocks,
   its timeline, and the dispatch form (triage first when the case waits for it). */
import { getJSON, postJSON, query } from "../shared.js";
import { el, facts, outcome } from "./dom.js";
import { dispatchable, resolutionRuns } from "./logic.js";
import { actions, api, can, communeName, errorText, t, when } from "./page.js";
import { casesList, reloadCases, slaClock, tickClocks } from "./work.js";

let caseDetail = null;

async function readCase(id) {
  const c = await getJSON(`${api.cases}/${id}`);
  const timeline = await getJSON(`${api.cases}/${id}/timeline`).catch(() => ({ entries: [] }));
  const orders = can.workOrders ? (await getJSON(query(api.workOrders, { case: id, limit: 10 }))).items || [] : [];
  return { c, timeline, orders };
}

export async function openCase(id, opener, said) {
  if (!can.cases) return;
  actions.showTab("work");
  if (!caseDetail) {
    caseDetail = el("div", { class: "cc-detail", id: "cc-case-detail" });
    casesList.before(caseDetail);
  }
  caseDetail.hidden = false;
  caseDetail.replaceChildren(el("p", { class: "cc-muted", text: t("cc.loading") }));
  let read;
  try {
    read = await readCase(id);
  } catch (error) {
    caseDetail.replaceChildren(el("p", { class: "cc-outcome cc-outcome--error", text: errorText(error) }));
    return;
  }
  const { c, timeline, orders } = read;
  const heading = el("h4", { tabindex: "-1", text: t("cc.case_line", { id: c.id, title: c.title || c.category }) });
  const result = el("p", { class: "cc-outcome", role: "status", text: said || "" });
  const parts = [el("div", { class: "cc-detail__head" }, heading, closeButton(opener)), caseFacts(c), ...orderLines(orders)];
  if (can.dispatch && dispatchable(c.state, orders)) parts.push(...dispatchForm(c, opener, result));
  parts.push(...timelineLines(timeline), result);
  caseDetail.replaceChildren(...parts);
  tickClocks();
  heading.focus();
}

function closeButton(opener) {
  return el("button", {
    type: "button",
    class: "button button--small",
    text: t("cc.close"),
    onclick: () => {
      caseDetail.hidden = true;
      if (opener && document.contains(opener)) opener.focus();
    },
  });
}

function caseFacts(c) {
  return facts([
    [t("cc.f.state"), t("cc.case_state." + c.state)],
    [t("cc.f.priority"), c.priority],
    [t("cc.f.category"), c.category],
    [t("cc.f.commune"), communeName(c.commune)],
    [t("cc.f.team"), c.team ? `${c.team.code} (${c.team.organisation || ""})` : t("cc.no_team")],
    [t("cc.f.opened"), when(c.opened_at)],
    [t("cc.f.description"), c.description],
  ]);
}

function orderLines(orders) {
  if (!orders.length) return [];
  const line = (o) =>
    el(
      "li",
      {},
      t("cc.order_line", { id: o.id, state: t("cc.wo_state." + o.state) }),
      " ",
      resolutionRuns(o) ? slaClock(o.resolution_due_at, t("cc.sla_resolution")) : null
    );
  return [el("h5", { text: t("cc.work_orders") }), el("ul", { class: "cc-mini" }, ...orders.map(line))];
}

function timelineLines(timeline) {
  const entries = (timeline.entries || []).slice(-10);
  if (!entries.length) return [];
  const line = (e) =>
    el("li", {}, el("span", { class: "cc-meta", text: when(e.at) }), ` ${e.what}${e.actor ? " · " + e.actor : ""}${e.note ? " · " + e.note : ""}`);
  return [el("h5", { text: t("cc.timeline") }), el("ol", { class: "cc-mini" }, ...entries.map(line))];
}

// A case waiting for triage is triaged first (same category: no new routing), then sent.
function dispatchForm(c, opener, result) {
  const untriaged = c.state !== "triaged";
  const priority = el("select", { id: "cc-dispatch-priority" });
  for (const p of ["P1", "P2", "P3", "P4"]) priority.append(el("option", { value: p, text: p, selected: p === c.priority }));
  const instructions = el("textarea", { id: "cc-dispatch-instructions", rows: 2, maxLength: 4000 });
  const send = el("button", {
    type: "button",
    class: "button button--primary",
    "data-action": "dispatch",
    text: untriaged ? t("cc.triage_dispatch") : t("cc.dispatch"),
  });
  send.addEventListener("click", async () => {
    send.disabled = true;
    try {
      if (untriaged || priority.value !== c.priority) {
        await postJSON(`${api.cases}/${c.id}/triage`, { category: c.category, priority: priority.value, reason: t("cc.triage_reason") });
      }
      const order = await postJSON(`${api.cases}/${c.id}/dispatch`, { instructions: instructions.value.trim() });
      outcome(result, t("cc.dispatched", { id: order.id }), false);
      reloadCases();
      setTimeout(() => openCase(c.id, opener, t("cc.dispatched", { id: order.id })), 300);
    } catch (error) {
      outcome(result, errorText(error), true);
      send.disabled = false;
    }
  });
  return [
    el("div", { class: "cc-field cc-field--row" }, el("label", { for: "cc-dispatch-priority", text: t("cc.f.priority") }), priority),
    el("div", { class: "cc-field" }, el("label", { for: "cc-dispatch-instructions", text: t("cc.instructions") }), instructions, send),
  ];
}
