/* The alarms panel: the active alarms (and the acknowledged ones, when asked) under the filters,
   the worst first; acknowledging from the list; live events applied between reloads. */
import { getJSON, postJSON, query } from "../shared.js";
import { $, announce, el, renderList, throttle } from "./dom.js";
import { alarmFromEvent, alarmVisible, compareAlarms } from "./logic.js";
import { actions, api, can, communeName, errorText, filters, kindParam, num, t, when } from "./page.js";

export const alarms = new Map(); // id → alarm (the API's shape; from an event until reloaded)
export const alarmsList = $("cc-alarms-list");
const alarmsAcked = $("cc-alarms-acked");
const showAcknowledged = () => Boolean(alarmsAcked && alarmsAcked.checked);

export async function loadAlarms() {
  if (!can.alarms) return;
  try {
    const states = showAcknowledged() ? "active,acknowledged" : "active";
    const answer = await getJSON(query(api.alarms, { state: states, commune: filters.commune, kind: kindParam(), limit: 100 }));
    alarms.clear();
    for (const a of answer.items || []) alarms.set(a.id, a);
    renderAlarms();
  } catch (error) {
    renderList(alarmsList, [], null, errorText(error));
  }
}
export const reloadAlarms = throttle(loadAlarms, 2000);

export const isVisible = (a) => alarmVisible(a, filters, showAcknowledged());

function alarmItem(a) {
  const where = `${communeName(a.commune)} · ${when(a.raised_at)} · ${t("cc.alarm_state." + a.state)}`;
  const who = a.assignee ? " · " + t("cc.assigned_to", { user: a.assignee }) : "";
  return el(
    "li",
    { class: `cc-item cc-alarm state-${a.state}`, "data-key": a.id },
    el(
      "div",
      { class: "cc-item__main" },
      el("span", { class: "cc-sev cc-sev--" + a.severity, text: t("cc.sev." + a.severity) }),
      el("button", { type: "button", class: "cc-link", "data-action": "detail", text: `${a.rule_name || a.rule_code || ""} · ${a.asset_ref || "#" + a.asset}` }),
      el("span", { class: "cc-meta" }, where + who)
    ),
    el(
      "div",
      { class: "cc-item__actions" },
      el("button", { type: "button", class: "button button--small", "data-action": "asset", text: t("cc.show_asset") }),
      can.acknowledge && a.state === "active"
        ? el("button", { type: "button", class: "button button--small button--primary", "data-action": "ack", text: t("cc.acknowledge") })
        : null
    )
  );
}

export const renderAlarms = throttle(() => {
  const items = Array.from(alarms.values()).filter(isVisible).sort(compareAlarms).slice(0, 100);
  const count = $("cc-alarms-count");
  if (count) count.textContent = num(items.filter((a) => a.state === "active").length);
  renderList(alarmsList, items, alarmItem, t("cc.alarms_none"));
}, 300);

async function acknowledge(button, id) {
  button.disabled = true;
  try {
    const updated = await postJSON(`${api.alarms}/${id}/acknowledge`, {});
    alarms.set(id, updated);
    announce(t("cc.acknowledged", { rule: updated.rule_name }), true);
    renderAlarms();
    actions.alarmChanged(id);
  } catch (error) {
    button.disabled = false;
    announce(errorText(error), true);
  }
}

export function wireAlarms() {
  if (alarmsAcked) alarmsAcked.addEventListener("change", loadAlarms);
  if (!alarmsList) return;
  alarmsList.addEventListener("click", (e) => {
    const button = e.target.closest("button[data-action]");
    if (!button) return;
    const id = Number(button.closest("[data-key]").dataset.key);
    const alarm = alarms.get(id);
    if (button.dataset.action === "detail") actions.openAlarm(id);
    else if (button.dataset.action === "asset" && alarm) actions.openAsset(alarm.asset, button);
    else if (button.dataset.action === "ack") acknowledge(button, id);
  });
}

/** A stream event about an alarm; a raised alarm in view is announced. */
export function applyAlarmEvent(type, e) {
  if (type === "alarm.cleared") {
    alarms.delete(e.alarm);
    return;
  }
  const a = alarmFromEvent(alarms.get(e.alarm), e);
  if (type === "alarm.raised") {
    a.state = "active";
    a.raised_at = e.at;
    if (isVisible(a)) announce(t("cc.new_alarm", { rule: a.rule_name || "", commune: communeName(a.commune) }));
  } else if (type === "alarm.acknowledged") a.state = "acknowledged";
  else if (type === "alarm.escalated") a.escalation_level = e.level || a.escalation_level;
  if (!a.state) a.state = "active";
  alarms.set(a.id, a);
}
