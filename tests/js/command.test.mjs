// The command centre's pure logic (static/js/command/logic.js) and map helpers (command-map.js).
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { AssetLayer, clusterLabel, clusterOf, mercX, mercY } from "../../src/metropilot/web/static/command-map.js";
import {
  alarmFromEvent,
  alarmVisible,
  availability,
  bboxParam,
  chartMetrics,
  clockState,
  compareAlarms,
  countdown,
  dispatchable,
  fleetFromPoints,
  resolutionRuns,
  statusChange,
} from "../../src/metropilot/web/static/js/command/logic.js";
import { translator } from "../../src/metropilot/web/static/js/shared.js";

const en = translator({ "cc.unit_day": "d", "cc.due_in": "due in {time}", "cc.late_by": "late by {time}" }).t;
const fr = translator({ "cc.unit_day": " j", "cc.due_in": "échéance dans {time}", "cc.late_by": "en retard de {time}" }).t;

describe("SLA countdown", () => {
  it("writes hours, minutes and seconds, and days when there are some", () => {
    assert.equal(countdown(5 * 60 * 1000, en), "due in 00:05:00");
    assert.equal(countdown((26 * 3600 + 3 * 60 + 4) * 1000 + 999, en), "due in 1d 02:03:04");
    assert.equal(countdown((2 * 86400 + 1) * 1000, fr), "échéance dans 2 j 00:00:01");
  });

  it("says late past the deadline", () => {
    assert.equal(countdown(-90 * 1000, en), "late by 00:01:30");
    assert.equal(countdown(-90 * 1000, fr), "en retard de 00:01:30");
    assert.equal(countdown(0, en), "due in 00:00:00");
  });

  it("marks a clock late, or soon under half an hour", () => {
    assert.deepEqual(clockState(-1), { late: true, soon: false });
    assert.deepEqual(clockState(29 * 60 * 1000), { late: false, soon: true });
    assert.deepEqual(clockState(31 * 60 * 1000), { late: false, soon: false });
  });
});

describe("alarms", () => {
  const filters = { commune: "", kinds: new Set(["streetlight", "sensor"]) };

  it("lists the active first, then the most severe, then the latest", () => {
    const alarms = [
      { id: 1, state: "acknowledged", severity: "critical", raised_at: "2026-01-01T10:00:00Z" },
      { id: 2, state: "active", severity: "minor", raised_at: "2026-01-01T12:00:00Z" },
      { id: 3, state: "active", severity: "critical", raised_at: "2026-01-01T09:00:00Z" },
      { id: 4, state: "active", severity: "critical", raised_at: "2026-01-01T11:00:00Z" },
      { id: 5, state: "active", severity: "unheard-of", raised_at: "2026-01-01T13:00:00Z" },
    ];
    assert.deepEqual(alarms.sort(compareAlarms).map((a) => a.id), [4, 3, 2, 5, 1]);
  });

  it("shows an alarm under the filters, the acknowledged ones only when asked", () => {
    const a = { state: "active", commune: "69123", kind: "streetlight" };
    assert.equal(alarmVisible(a, filters, false), true);
    assert.equal(alarmVisible({ ...a, state: "cleared" }, filters, true), false);
    assert.equal(alarmVisible({ ...a, state: "acknowledged" }, filters, false), false);
    assert.equal(alarmVisible({ ...a, state: "acknowledged" }, filters, true), true);
    assert.equal(alarmVisible(a, { ...filters, commune: "69266" }, false), false);
    assert.equal(alarmVisible({ ...a, kind: "vehicle" }, filters, false), false);
  });

  it("rebuilds an alarm from a stream event over what was known", () => {
    const before = { id: 9, asset_ref: "SL-0009", rule_name: "Lamp out", raised_at: "2026-01-01T10:00:00Z", assignee: "ops" };
    const event = { alarm: 9, asset: 90, kind: "streetlight", commune: "69123", rule_id: 3, rule_code: "lamp_out", severity: "major", at: "2026-01-01T11:00:00Z" };
    const a = alarmFromEvent(before, event);
    assert.equal(a.id, 9);
    assert.equal(a.asset_ref, "SL-0009");
    assert.equal(a.rule_name, "Lamp out");
    assert.equal(a.raised_at, "2026-01-01T10:00:00Z");
    assert.equal(a.assignee, "ops");
    assert.equal(a.severity, "major");
    const fresh = alarmFromEvent(undefined, event);
    assert.equal(fresh.rule_name, "lamp_out");
    assert.equal(fresh.asset_ref, "");
    assert.equal(fresh.raised_at, "2026-01-01T11:00:00Z");
  });
});

describe("KPIs, telemetry, history, cases, fleet", () => {
  it("counts the equipment needing attention and the share working", () => {
    assert.deepEqual(availability({ ok: 90, fault: 6, offline: 2, degraded: 2 }), { total: 100, attention: 8, working: 92 });
    assert.deepEqual(availability({}), { total: 0, attention: 0, working: null });
  });

  it("charts the numeric metrics, the preferred first, positions left out", () => {
    const values = {
      zeta: { value: 1 },
      power_w: { value: 120 },
      alpha: { value: 2 },
      pm10: { value: 20 },
      position_lat: { value: 45.7 },
      state: { value: "on" },
    };
    assert.deepEqual(chartMetrics(values), ["power_w", "pm10", "alpha", "zeta"]);
  });

  it("reads a status change in the history's two shapes", () => {
    assert.deepEqual(statusChange({ changes: { status: ["ok", "fault"] } }), ["ok", "fault"]);
    assert.deepEqual(statusChange({ changes: { status: { old: "fault", new: "ok" } } }), ["fault", "ok"]);
    assert.equal(statusChange({ changes: { name: ["a", "b"] } }), null);
  });

  it("dispatches a case only without a live order, in a state that allows it", () => {
    assert.equal(dispatchable("open", []), true);
    assert.equal(dispatchable("triaged", [{ state: "refused" }, { state: "closed" }]), true);
    assert.equal(dispatchable("triaged", [{ state: "on_site" }]), false);
    assert.equal(dispatchable("in_progress", []), false);
    assert.equal(resolutionRuns({ state: "on_site", resolution_due_at: "2026-01-01T00:00:00Z" }), true);
    assert.equal(resolutionRuns({ state: "done", resolution_due_at: "2026-01-01T00:00:00Z" }), false);
    assert.equal(resolutionRuns({ state: "on_site", resolution_due_at: null }), false);
  });

  it("reads the fleet from the map's columns, by reference", () => {
    const points = { id: [2, 1], ref: ["VH-2", "VH-1"], status: ["ok", "fault"], lon: [4.8, 4.9], lat: [45.7, 45.8] };
    assert.deepEqual(fleetFromPoints(points), [
      { id: 1, ref: "VH-1", status: "fault", lon: 4.9, lat: 45.8 },
      { id: 2, ref: "VH-2", status: "ok", lon: 4.8, lat: 45.7 },
    ]);
    assert.deepEqual(fleetFromPoints(undefined), []);
  });

  it("writes a bounding box west, south, east, north", () => {
    const bounds = { getWest: () => 4.7, getSouth: () => 45.6, getEast: () => 5.01234567, getNorth: () => 45.9 };
    assert.equal(bboxParam(bounds), "4.70000,45.60000,5.01235,45.90000");
  });
});

describe("the asset layer's helpers", () => {
  it("has no layer without Leaflet, and its helpers still import", () => {
    assert.equal(AssetLayer, null);
  });

  it("projects to Web Mercator units", () => {
    assert.equal(mercX(-180), 0);
    assert.equal(mercX(180), 1);
    assert.equal(mercY(0), 0.5);
    assert.ok(mercY(45) < 0.5);
    assert.equal(mercY(89), mercY(85)); // clamped
  });

  it("marks a cluster with its worst status and what needs attention", () => {
    const c = clusterOf({ lon: 4.8, lat: 45.7, count: 20, statuses: { ok: 15, degraded: 2, offline: 3 } });
    assert.equal(c.worst, "offline");
    assert.equal(c.attention, 3);
    assert.equal(c.count, 20);
    assert.equal(clusterOf({ lon: 0, lat: 0, count: 1 }).worst, "ok");
    assert.equal(clusterOf({ lon: 0, lat: 0, count: 3, statuses: { fault: 1, offline: 2 } }).worst, "fault");
  });

  it("labels a cluster's count, in thousands from 10,000", () => {
    assert.equal(clusterLabel(9999), "9999");
    assert.equal(clusterLabel(10000), "10k");
    assert.equal(clusterLabel(34567), "35k");
  });
});
