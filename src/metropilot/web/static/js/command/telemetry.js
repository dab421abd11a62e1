/* The asset panel's telemetry: the twin's latest values, and a chart of one metric over the last
   24 hours drawn on a canvas, with a text summary for those who do not see it. */
import { getJSON, query } from "../shared.js";
import { $, el, facts, section } from "./dom.js";
import { chartMetrics } from "./logic.js";
import { api, errorText, num, t, when } from "./page.js";

export async function loadTelemetry(asset, signal) {
  const box = $("cc-asset-telemetry");
  if (!box) return;
  let twin;
  try {
    twin = await getJSON(`${api.assets}/${asset.id}/twin`, signal);
  } catch (error) {
    box.replaceChildren(section(t("cc.telemetry"), el("p", { class: "cc-muted", text: errorText(error) })));
    return;
  }
  const values = twin.values || {};
  const numeric = chartMetrics(values);
  const latest = facts(
    Object.entries(values).map(([m, v]) => [m, `${typeof v.value === "number" ? num(v.value) : String(v.value)} (${when(v.ts)})`])
  );
  const content = [el("p", { class: "cc-meta", text: t("cc.last_seen", { when: when(twin.last_seen) }) }), latest];
  if (numeric.length) {
    content.push(...chartControls(asset.id, numeric, signal));
  } else {
    content.push(el("p", { class: "cc-muted", text: t("cc.no_telemetry") }));
  }
  box.replaceChildren(section(t("cc.telemetry"), ...content));
}

function chartControls(assetId, metrics, signal) {
  const select = el("select", { id: "cc-metric" });
  for (const m of metrics) select.append(el("option", { value: m, text: m }));
  const canvas = el("canvas", { class: "cc-chart", width: 420, height: 160, role: "img", "aria-labelledby": "cc-chart-summary" });
  const summary = el("p", { class: "cc-meta", id: "cc-chart-summary" });
  const draw = () => drawSeries(assetId, select.value, canvas, summary, signal);
  select.addEventListener("change", draw);
  draw();
  return [el("div", { class: "cc-field" }, el("label", { for: "cc-metric", text: t("cc.metric") }), select), canvas, summary];
}

async function drawSeries(id, metric, canvas, summary, signal) {
  const from = new Date(Date.now() - 24 * 3600 * 1000).toISOString();
  let items;
  try {
    const answer = await getJSON(query(`${api.assets}/${id}/telemetry`, { metric, from, bucket: "raw", limit: 1000 }), signal);
    items = answer.items || [];
  } catch (error) {
    summary.textContent = errorText(error);
    return;
  }
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const points = items
    .map((i) => [Date.parse(i.ts), typeof i.value === "number" ? i.value : Number(i.value)])
    .filter((p) => isFinite(p[1]));
  if (!points.length) {
    summary.textContent = t("cc.chart_empty", { metric });
    return;
  }
  points.sort((a, b) => a[0] - b[0]);
  const range = plot(ctx, canvas.width, canvas.height, points);
  const last = points[points.length - 1];
  summary.textContent = t("cc.chart_summary", {
    metric,
    count: num(points.length),
    min: num(+range.lo.toFixed(3)),
    max: num(+range.hi.toFixed(3)),
    last: num(last[1]),
    when: when(new Date(last[0]).toISOString()),
  });
}

/** The axes, their labels and the line of the points ([time, value], in time order). */
function plot(ctx, w, h, points) {
  const t0 = points[0][0];
  let t1 = points[points.length - 1][0];
  if (t1 === t0) t1 = t0 + 1;
  let lo = Math.min(...points.map((p) => p[1]));
  let hi = Math.max(...points.map((p) => p[1]));
  if (hi === lo) {
    hi += 1;
    lo -= 1;
  }
  const L0 = 44;
  const B = 22;
  const x = (tv) => L0 + ((tv - t0) / (t1 - t0)) * (w - L0 - 8);
  const y = (v) => 8 + (1 - (v - lo) / (hi - lo)) * (h - B - 8);
  ctx.strokeStyle = "#5b6572";
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(L0, 8);
  ctx.lineTo(L0, h - B);
  ctx.lineTo(w - 8, h - B);
  ctx.stroke();
  ctx.fillStyle = "#1b1f24";
  ctx.font = "11px system-ui, sans-serif";
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  ctx.fillText(num(+hi.toFixed(2)), L0 - 4, y(hi));
  ctx.fillText(num(+lo.toFixed(2)), L0 - 4, y(lo));
  ctx.textAlign = "left";
  ctx.textBaseline = "top";
  ctx.fillText(when(new Date(t0).toISOString()), L0, h - B + 4);
  ctx.textAlign = "right";
  ctx.fillText(when(new Date(t1).toISOString()), w - 8, h - B + 4);
  ctx.strokeStyle = "#0b3d91";
  ctx.lineWidth = 2;
  ctx.beginPath();
  points.forEach(([tv, v], i) => (i ? ctx.lineTo(x(tv), y(v)) : ctx.moveTo(x(tv), y(v))));
  ctx.stroke();
  return { lo, hi };
}
