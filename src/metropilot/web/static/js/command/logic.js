/* The command centre's pure logic, without DOM or network (node --test covers it): countdowns,
   the alarm list's order and filter, alarms rebuilt from stream events, availability, the order
   of the telemetry metrics, which case may be dispatched, the fleet from the map's columns. */

const pad2 = (v) => String(v).padStart(2, "0");

/** A SLA clock's text: "due in 1d 02:03:04" / "late by 00:05:00" (words from t). */
export function countdown(ms, t) {
  const late = ms < 0;
  let s = Math.floor(Math.abs(ms) / 1000);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const text = (d ? d + t("cc.unit_day") + " " : "") + pad2(h) + ":" + pad2(m) + ":" + pad2(s);
  return late ? t("cc.late_by", { time: text }) : t("cc.due_in", { time: text });
}

/** How a clock looks: late, soon (under 30 minutes), or neither. */
export function clockState(left) {
  return { late: left < 0, soon: left >= 0 && left < 30 * 60 * 1000 };
}

export const SEVERITY_RANK = { critical: 0, major: 1, minor: 2, warning: 3, info: 4 };

/** The alarm list's order: active first, then the most severe, then the latest raised. */
export function compareAlarms(a, b) {
  return (
    (a.state === "active" ? 0 : 1) - (b.state === "active" ? 0 : 1) ||
    (SEVERITY_RANK[a.severity] ?? 9) - (SEVERITY_RANK[b.severity] ?? 9) ||
    (b.raised_at || "").localeCompare(a.raised_at || "")
  );
}

/** Whether an alarm belongs in the list under the filters (and the "acknowledged too" box). */
export function alarmVisible(a, filters, showAcknowledged) {
  if (a.state === "cleared") return false;
  if (a.state === "acknowledged" && !showAcknowledged) return false;
  if (filters.commune && a.commune !== filters.commune) return false;
  return filters.kinds.has(a.kind);
}

/** An alarm shaped like the API's from a stream event (whose fields are named a little
    differently) over what was known of it before. */
export function alarmFromEvent(before, e) {
  const known = before || {};
  return Object.assign({}, known, {
    id: e.alarm,
    asset: e.asset,
    asset_ref: known.asset_ref || e.asset_ref || "",
    kind: e.kind,
    commune: e.commune,
    rule: e.rule_id,
    rule_code: e.rule_code,
    rule_name: e.rule_name || known.rule_name || e.rule_code,
    severity: e.severity || known.severity,
    message: e.message || known.message,
    raised_at: known.raised_at || e.at,
  });
}

/** The equipment, what needs attention (fault or offline), and the share working (out of 100,
    null when there is no equipment), from a summary's counts by status. */
export function availability(byStatus) {
  const counts = byStatus || {};
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const attention = (counts.fault || 0) + (counts.offline || 0);
  return { total, attention, working: total ? (100 * (total - attention)) / total : null };
}

export const PREFERRED_METRICS = ["power_w", "light_level_pct", "pm10", "occupancy_pct", "temperature_c", "energy_wh"];

/** The numeric metrics of a twin worth a chart, the preferred ones first, then by name. */
export function chartMetrics(values) {
  const numeric = Object.keys(values || {}).filter(
    (m) => typeof values[m].value === "number" && !m.startsWith("position_")
  );
  const rank = (m) => {
    const i = PREFERRED_METRICS.indexOf(m);
    return i < 0 ? 99 : i;
  };
  return numeric.sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1));
}

/** The change of status an asset's history entry records: [from, to], or null. */
export function statusChange(entry) {
  const c = (entry.changes || {}).status;
  if (!c) return null;
  if (Array.isArray(c)) return [c[0], c[1]];
  return [c.from || c.old, c.to || c.new];
}

const ORDER_OVER = ["refused", "verified", "closed", "cancelled"];
const ORDER_ENDED = ["done", "verified", "closed", "cancelled"];

/** Whether an order's resolution clock still runs. */
export const resolutionRuns = (order) => Boolean(order.resolution_due_at) && !ORDER_ENDED.includes(order.state);

/** Whether a case may be sent to a team now: no live order, and a state that allows it. */
export function dispatchable(caseState, orders) {
  const liveOrder = orders.some((o) => !ORDER_OVER.includes(o.state));
  return !liveOrder && ["open", "triaged", "reopened"].includes(caseState);
}

/** The vehicles of a map/assets answer (its points as columns), by reference. */
export function fleetFromPoints(points) {
  const p = points || {};
  const fleet = (p.id || []).map((id, i) => ({ id, ref: p.ref[i], status: p.status[i], lon: p.lon[i], lat: p.lat[i] }));
  return fleet.sort((a, b) => (a.ref < b.ref ? -1 : 1));
}

/** A bounding box as the API takes it: "west,south,east,north" with 5 decimals. */
export function bboxParam(bounds) {
  const f = (v) => v.toFixed(5);
  return [f(bounds.getWest()), f(bounds.getSouth()), f(bounds.getEast()), f(bounds.getNorth())].join(",");
}
