/* The work panel: the live cases and the live work orders (under the commune filter), with their
   SLA clocks ticking every second; verifying a finished order. */
import { getJSON, postJSON, query } from "../shared.js";
import { $, el, outcome, renderList, throttle } from "./dom.js";
import { clockState, countdown } from "./logic.js";
import { actions, api, can, communeName, errorText, filters, num, t, when } from "./page.js";

const LIVE_ORDER_STATES = "created,dispatched,accepted,en_route,on_site,done,reopened";
const LIVE_CASE_STATES = "open,triaged,dispatched,in_progress,waiting_third_party,reopened";

let cases = [];
let orders = [];
export const casesList = $("cc-cases-list");
const ordersList = $("cc-orders-list");
const caseCommune = new Map();

function caseItem(c) {
  const meta = `${t("cc.case_state." + c.state)} · ${communeName(c.commune)} · ${c.team ? c.team.code : t("cc.no_team")} · ${when(c.opened_at)}`;
  return el(
    "li",
    { class: `cc-item cc-case state-${c.state}`, "data-key": c.id },
    el(
      "div",
      { class: "cc-item__main" },
      el("span", { class: "cc-pri", text: c.priority }),
      el("button", { type: "button", class: "cc-link", "data-action": "open", text: t("cc.case_line", { id: c.id, title: c.title || c.category }) }),
      el("span", { class: "cc-meta" }, meta)
    ),
    el(
      "div",
      { class: "cc-item__actions" },
      c.asset ? el("button", { type: "button", class: "button button--small", "data-action": "asset", text: t("cc.show_asset") }) : null
    )
  );
}

export async function loadCases() {
  if (!can.cases || !casesList) return;
  try {
    const answer = await getJSON(query(api.cases, { state: LIVE_CASE_STATES, commune: filters.commune, limit: 100 }));
    cases = answer.items || [];
    for (const c of cases) caseCommune.set(c.id, c.commune);
    renderList(casesList, cases, caseItem, t("cc.cases_none"));
  } catch (error) {
    renderList(casesList, [], null, errorText(error));
  }
  if (can.workOrders) loadOrders();
}
export const reloadCases = throttle(loadCases, 1500);

/** A SLA clock, written by tickClocks. */
export function slaClock(due, label) {
  return el("span", { class: "cc-sla", "data-due": due, "data-label": label });
}

function orderItem(o) {
  const clocks = [];
  if (o.response_due_at && (o.state === "created" || o.state === "dispatched")) clocks.push(slaClock(o.response_due_at, t("cc.sla_response")));
  if (o.resolution_due_at && o.state !== "done") clocks.push(slaClock(o.resolution_due_at, t("cc.sla_resolution")));
  return el(
    "li",
    { class: `cc-item cc-order state-${o.state}`, "data-key": o.id },
    el(
      "div",
      { class: "cc-item__main" },
      el("button", { type: "button", class: "cc-link", "data-action": "case", text: t("cc.order_title", { id: o.id, case: o.case }) }),
      el("span", { class: "cc-meta", text: `${t("cc.wo_state." + o.state)} · ${o.team ? o.team.organisation || o.team.code : ""}` }),
      ...clocks
    ),
    can.dispatch && o.state === "done"
      ? el("div", { class: "cc-item__actions" }, el("button", { type: "button", class: "button button--small", "data-action": "verify", text: t("cc.verify") }))
      : null,
    el("p", { class: "cc-outcome", role: "status" })
  );
}

async function loadOrders() {
  if (!ordersList) return;
  try {
    const answer = await getJSON(query(api.workOrders, { state: LIVE_ORDER_STATES, limit: 100 }));
    orders = (answer.items || []).filter(
      (o) => !filters.commune || !caseCommune.has(o.case) || caseCommune.get(o.case) === filters.commune
    );
    const count = $("cc-work-count");
    if (count) count.textContent = num(cases.length + orders.length);
    renderList(ordersList, orders, orderItem, t("cc.orders_none"));
    tickClocks();
  } catch (error) {
    renderList(ordersList, [], null, errorText(error));
  }
}

async function verify(button, order, item) {
  button.disabled = true;
  try {
    await postJSON(`${api.workOrders}/${order.id}/verify`, {});
    outcome(item.querySelector(".cc-outcome"), t("cc.verified"), false);
    reloadCases();
  } catch (error) {
    outcome(item.querySelector(".cc-outcome"), errorText(error), true);
  } finally {
    button.disabled = false;
  }
}

export function wireWork() {
  if (casesList) {
    casesList.addEventListener("click", (e) => {
      const button = e.target.closest("button[data-action]");
      if (!button) return;
      const id = Number(button.closest("[data-key]").dataset.key);
      const c = cases.find((x) => x.id === id);
      if (button.dataset.action === "open") actions.openCase(id, button);
      else if (button.dataset.action === "asset" && c) actions.openAsset(c.asset, button);
    });
  }
  if (ordersList) {
    ordersList.addEventListener("click", (e) => {
      const button = e.target.closest("button[data-action]");
      if (!button) return;
      const item = button.closest("[data-key]");
      const order = orders.find((o) => o.id === Number(item.dataset.key));
      if (!order) return;
      if (button.dataset.action === "case") actions.openCase(order.case, button);
      else if (button.dataset.action === "verify") verify(button, order, item);
    });
  }
}

/** The SLA clocks tick every second (only the visible ones are written). */
export function tickClocks() {
  const now = Date.now();
  for (const node of document.querySelectorAll(".cc-sla[data-due]")) {
    if (!node.offsetParent) continue;
    const left = Date.parse(node.dataset.due) - now;
    const state = clockState(left);
    node.textContent = `${node.dataset.label} ${countdown(left, t)}`;
    node.classList.toggle("cc-sla--late", state.late);
    node.classList.toggle("cc-sla--soon", state.soon);
  }
}
