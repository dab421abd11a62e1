/* The asset panel: an asset's facts, attributes and history, then its telemetry (telemetry.js),
   alarms and cases with their work orders. Escape or the close button gives the focus back. */
import { getJSON, query } from "../shared.js";
import { $, el, facts, section, statusBadge } from "./dom.js";
import { statusChange } from "./logic.js";
import { assets, map, resized } from "./map.js";
import { actions, api, can, communeName, errorText, kindLabel, mapBox, statusLabel, t, view, when } from "./page.js";
import { loadTelemetry } from "./telemetry.js";

const assetPanel = $("cc-asset");
const assetBody = $("cc-asset-body");
const assetTitle = $("cc-asset-title");
const assetStatus = $("cc-asset-status");
let assetAbort = null;

export function closeAsset() {
  if (!view.selected) return;
  const back = view.selected.returnFocus;
  view.selected = null;
  if (assetAbort) assetAbort.abort();
  assetPanel.hidden = true;
  document.body.classList.remove("cc-has-asset");
  resized();
  assets.select(null);
  if (back && document.contains(back)) back.focus();
  else mapBox.focus();
}

/** A live status change of the asset whose panel is open. */
export function assetStatusChanged(id, status) {
  if (view.selected && view.selected.id === id && assetStatus) {
    assetStatus.textContent = t("cc.asset_now", { status: statusLabel(status) });
  }
}

function showPanel(id, opener) {
  view.selected = { id, returnFocus: opener || document.activeElement };
  assets.select(id);
  const wasHidden = assetPanel.hidden;
  assetPanel.hidden = false;
  document.body.classList.add("cc-has-asset");
  if (wasHidden) resized();
  assetTitle.textContent = t("cc.asset_loading");
  assetStatus.textContent = "";
  assetBody.replaceChildren();
  assetPanel.focus();
}

export async function openAsset(id, opener) {
  if (assetAbort) assetAbort.abort();
  assetAbort = new AbortController();
  const signal = assetAbort.signal;
  showPanel(id, opener);
  let asset;
  try {
    asset = await getJSON(`${api.assets}/${id}`, signal);
  } catch (error) {
    assetTitle.textContent = t("cc.asset");
    assetStatus.textContent = errorText(error);
    return;
  }
  if (!view.selected || view.selected.id !== id) return;
  assetTitle.textContent = `${asset.external_ref} · ${kindLabel(asset.kind)}`;
  assetBody.replaceChildren(...assetContent(asset));
  if (asset.lon !== undefined && !map.getBounds().contains([asset.lat, asset.lon])) {
    map.panTo([asset.lat, asset.lon]);
  }
  loadTelemetry(asset, signal);
  loadAssetAlarms(asset, signal);
  loadAssetCases(asset, signal);
}

function assetContent(asset) {
  const attributes = Object.entries(asset.attributes || {}).map(([k, v]) => [k.replace(/_/g, " "), String(v)]);
  const history = (asset.history || [])
    .slice(0, 8)
    .map((h) => el("li", {}, el("span", { class: "cc-meta", text: when(h.at) }), " ", historyText(h)));
  return [
    facts([
      [t("cc.f.status"), statusBadge(asset.status)],
      [t("cc.f.name"), asset.name],
      [t("cc.f.commune"), communeName(asset.commune)],
      [t("cc.f.maintainer"), asset.maintainer],
      [t("cc.f.parent"), asset.parent_ref],
      [t("cc.f.position"), `${asset.lat.toFixed(5)}, ${asset.lon.toFixed(5)}`],
      [t("cc.f.updated"), when(asset.updated_at)],
    ]),
    attributes.length ? section(t("cc.attributes"), facts(attributes)) : null,
    el("div", { id: "cc-asset-telemetry" }),
    el("div", { id: "cc-asset-alarms" }),
    el("div", { id: "cc-asset-cases" }),
    section(t("cc.history"), el("ol", { class: "cc-history" }, ...history)),
  ].filter(Boolean);
}

function historyText(h) {
  const change = statusChange(h);
  if (change) {
    return t("cc.history_status", { from: statusLabel(change[0]), to: statusLabel(change[1]), actor: h.actor || "" });
  }
  return t("cc.history_other", { action: h.action || "", actor: h.actor || "" });
}

function alarmLine(a) {
  return el(
    "li",
    {},
    el("span", { class: "cc-sev cc-sev--" + a.severity, text: t("cc.sev." + a.severity) }),
    " ",
    el("button", { type: "button", class: "cc-link", text: a.rule_name, onclick: () => actions.openAlarm(a.id) }),
    " · ",
    t("cc.alarm_state." + a.state),
    " · ",
    when(a.raised_at)
  );
}

async function loadAssetAlarms(asset, signal) {
  const box = $("cc-asset-alarms");
  if (!box || !can.alarms) return;
  try {
    const answer = await getJSON(query(api.alarms, { asset: asset.id, state: "active,acknowledged,cleared", limit: 10 }), signal);
    const items = answer.items || [];
    box.replaceChildren(
      section(
        t("cc.asset_alarms"),
        items.length ? el("ul", { class: "cc-mini" }, ...items.map(alarmLine)) : el("p", { class: "cc-muted", text: t("cc.none") })
      )
    );
  } catch (error) {
    box.replaceChildren(section(t("cc.asset_alarms"), el("p", { class: "cc-muted", text: errorText(error) })));
  }
}

async function caseOrders(caseId, signal) {
  const lines = [];
  try {
    const o = await getJSON(query(api.workOrders, { case: caseId, limit: 5 }), signal);
    for (const order of o.items || []) {
      lines.push(el("li", {}, t("cc.order_line", { id: order.id, state: t("cc.wo_state." + order.state) })));
    }
  } catch {
    /* The case is shown without its orders. */
  }
  return lines;
}

async function loadAssetCases(asset, signal) {
  const box = $("cc-asset-cases");
  if (!box || !can.cases) return;
  try {
    const answer = await getJSON(query(api.cases, { asset: asset.id, limit: 10 }), signal);
    const items = [];
    for (const c of answer.items || []) {
      const orders = can.workOrders && items.length < 5 ? await caseOrders(c.id, signal) : [];
      const title = t("cc.case_line", { id: c.id, title: c.title || c.category });
      items.push(
        el(
          "li",
          {},
          el("button", { type: "button", class: "cc-link", text: title, onclick: () => actions.openCase(c.id) }),
          " · ",
          t("cc.case_state." + c.state),
          orders.length ? el("ul", { class: "cc-mini" }, ...orders) : null
        )
      );
    }
    box.replaceChildren(
      section(t("cc.asset_cases"), items.length ? el("ul", { class: "cc-mini" }, ...items) : el("p", { class: "cc-muted", text: t("cc.none") }))
    );
  } catch (error) {
    box.replaceChildren(section(t("cc.asset_cases"), el("p", { class: "cc-muted", text: errorText(error) })));
  }
}
