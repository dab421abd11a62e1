/* An alarm's detail under the alarms list: its facts and comments, and what the viewer may do
   with it (acknowledge, clear with a comment, assign, comment); after each, it is read again. */
import { getJSON, postJSON } from "../shared.js";
import { $, el, facts, outcome } from "./dom.js";
import { alarms, alarmsList, renderAlarms } from "./alarms.js";
import { actions, api, can, cfg, communeName, errorText, t, when } from "./page.js";

const alarmDetail = $("cc-alarm-detail");
let openAlarmId = null;

/** Read an alarm's detail again if it is the one open (after a change from the list). */
export function refreshAlarm(id) {
  if (openAlarmId === id) openAlarm(id);
}

export async function openAlarm(id) {
  if (!alarmDetail) return;
  openAlarmId = id;
  alarmDetail.hidden = false;
  alarmDetail.replaceChildren(el("p", { class: "cc-muted", text: t("cc.loading") }));
  let alarm;
  try {
    alarm = await getJSON(`${api.alarms}/${id}`);
  } catch (error) {
    alarmDetail.replaceChildren(el("p", { class: "cc-outcome cc-outcome--error", text: errorText(error) }));
    return;
  }
  if (openAlarmId !== id) return;
  alarms.set(id, Object.assign(alarms.get(id) || {}, alarm));
  const result = el("p", { class: "cc-outcome", role: "status" });
  const heading = el("h4", { tabindex: "-1", text: t("cc.alarm_title", { id, rule: alarm.rule_name }) });
  const act = actionRunner(id, result);
  const commentBox = can.comment ? el("textarea", { id: "cc-comment", rows: 2, maxLength: 2000 }) : null;
  const parts = [
    el("div", { class: "cc-detail__head" }, heading, closeButton(id)),
    alarmFacts(alarm),
    ...comments(alarm),
    actionButtons(id, alarm, act, result, commentBox),
  ];
  if (can.assign && alarm.state !== "cleared") parts.push(assignField(id, alarm, act));
  if (commentBox) parts.push(commentField(id, act, commentBox));
  parts.push(result);
  alarmDetail.replaceChildren(...parts);
  heading.focus();
}

// Post a change of the open alarm, say how it went, and read the alarm again.
function actionRunner(id, result) {
  return async (button, url, body, done) => {
    button.disabled = true;
    try {
      const answer = await postJSON(url, body);
      outcome(result, done, false);
      if (answer && answer.id === id && answer.state) alarms.set(id, answer);
      renderAlarms();
      setTimeout(() => openAlarm(id), 0);
    } catch (error) {
      outcome(result, errorText(error), true);
    } finally {
      button.disabled = false;
    }
  };
}

function closeButton(id) {
  return el("button", {
    type: "button",
    class: "button button--small",
    text: t("cc.close"),
    onclick: () => {
      alarmDetail.hidden = true;
      openAlarmId = null;
      const back = alarmsList.querySelector(`[data-key="${id}"] [data-action="detail"]`);
      if (back) back.focus();
    },
  });
}

function alarmFacts(alarm) {
  const asset = el("button", {
    type: "button",
    class: "cc-link",
    text: alarm.asset_ref,
    onclick: (e) => actions.openAsset(alarm.asset, e.currentTarget),
  });
  return facts([
    [t("cc.f.severity"), t("cc.sev." + alarm.severity)],
    [t("cc.f.state"), t("cc.alarm_state." + alarm.state)],
    [t("cc.f.asset"), asset],
    [t("cc.f.commune"), communeName(alarm.commune)],
    [t("cc.f.message"), alarm.message],
    [t("cc.f.raised"), when(alarm.raised_at)],
    [t("cc.f.acknowledged"), alarm.acknowledged_at ? `${when(alarm.acknowledged_at)} · ${alarm.acknowledged_by || ""}` : ""],
    [t("cc.f.assignee"), alarm.assignee],
    [t("cc.f.escalation"), alarm.escalation_level ? String(alarm.escalation_level) : ""],
  ]);
}

function comments(alarm) {
  const list = alarm.comments || [];
  if (!list.length) return [];
  const line = (c) =>
    el("li", {}, el("span", { class: "cc-meta", text: `${when(c.at || c.created_at)} · ${c.author || c.actor || ""}` }), " ", c.text);
  return [el("h5", { text: t("cc.comments") }), el("ol", { class: "cc-mini" }, ...list.map(line))];
}

function actionButtons(id, alarm, act, result, commentBox) {
  const actions = el("div", { class: "cc-actions" });
  if (can.acknowledge && alarm.state === "active") {
    const ack = el("button", { type: "button", class: "button button--primary", text: t("cc.acknowledge") });
    ack.addEventListener("click", () => act(ack, `${api.alarms}/${id}/acknowledge`, {}, t("cc.acknowledged", { rule: alarm.rule_name })));
    actions.append(ack);
  }
  if (can.clear && alarm.state !== "cleared") {
    const clear = el("button", { type: "button", class: "button", text: t("cc.clear") });
    clear.addEventListener("click", () => {
      const note = commentBox ? commentBox.value.trim() : "";
      if (!note) {
        outcome(result, t("cc.clear_needs_comment"), true);
        if (commentBox) commentBox.focus();
        return;
      }
      act(clear, `${api.alarms}/${id}/clear`, { comment: note }, t("cc.cleared"));
    });
    actions.append(clear);
  }
  return actions;
}

function assignField(id, alarm, act) {
  const who = el("input", { type: "text", id: "cc-assignee", value: alarm.assignee || cfg.user || "", autocomplete: "off" });
  const assign = el("button", { type: "button", class: "button", text: t("cc.assign") });
  assign.addEventListener("click", () =>
    act(assign, `${api.alarms}/${id}/assign`, { assignee: who.value.trim() || null }, t("cc.assigned", { user: who.value.trim() || "—" }))
  );
  return el("div", { class: "cc-field cc-field--row" }, el("label", { for: "cc-assignee", text: t("cc.assignee") }), who, assign);
}

function commentField(id, act, commentBox) {
  const send = el("button", { type: "button", class: "button", text: t("cc.comment_send") });
  send.addEventListener("click", () => {
    const text = commentBox.value.trim();
    if (!text) {
      commentBox.focus();
      return;
    }
    act(send, `${api.alarms}/${id}/comments`, { text }, t("cc.commented"));
  });
  return el("div", { class: "cc-field" }, el("label", { for: "cc-comment", text: t("cc.comment") }), commentBox, send);
}
