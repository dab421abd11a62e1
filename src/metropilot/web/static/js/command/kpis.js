/* The KPI panel: equipment, attention and availability, open alarms by severity, and the
   contract's KPIs per lot, for the scope and for the chosen commune; and the table per commune
   (rendered by the server) filled in with its counts. */
import { getJSON, query } from "../shared.js";
import { $, el, facts, throttle } from "./dom.js";
import { availability } from "./logic.js";
import { actions, api, can, cfg, communeName, filters, num, percent, t } from "./page.js";

const kpiBox = $("cc-kpis");
const communeTableBox = $("cc-commune-table");

function equipmentFacts(summary) {
  const { total, attention, working } = availability(summary.by_status);
  return facts([
    [t("cc.kpi_equipment"), num(total)],
    [t("cc.kpi_attention"), num(attention)],
    [t("cc.kpi_working"), working === null ? "—" : percent(working, 1)],
  ]);
}

function kpiRow(lot, k) {
  const met = k.met === null ? t("cc.kpi_unmeasured") : k.met ? t("cc.kpi_yes") : t("cc.kpi_no");
  return el(
    "tr",
    {},
    el("td", { text: lot.lot }),
    el("th", { scope: "row", text: k.name }),
    el("td", { class: "num", text: k.value === null ? "—" : `${num(k.value)} ${k.unit || ""}` }),
    el("td", { class: "num", text: `${num(k.target)} ${k.unit || ""}` }),
    el("td", { class: k.met === false ? "cc-bad" : "", text: met })
  );
}

function contractTable(kpis) {
  const heads = ["cc.kpi_lot", "cc.kpi_name", "cc.kpi_value", "cc.kpi_target", "cc.kpi_met"];
  const body = el("tbody");
  for (const lot of kpis.lots) {
    for (const k of lot.kpis || []) body.append(kpiRow(lot, k));
  }
  return el(
    "table",
    { class: "cc-table" },
    el("caption", { text: t("cc.kpi_contract", { period: kpis.period || "" }) }),
    el("thead", {}, el("tr", {}, ...heads.map((k) => el("th", { scope: "col", text: t(k) })))),
    body
  );
}

async function kpiBlock(commune) {
  const title = commune ? t("cc.kpi_for", { name: communeName(commune) }) : cfg.scoped ? t("cc.kpi_scope") : t("cc.kpi_metropolis");
  const block = el("section", { class: "cc-kpi" }, el("h4", { text: title }));
  const [summary, alarmSummary, kpis] = await Promise.all([
    getJSON(query(api.summary, { commune })).catch(() => null),
    can.alarms ? getJSON(query(`${api.alarms}/summary`, { commune })).catch(() => null) : null,
    getJSON(query(api.kpis, { commune })).catch(() => null),
  ]);
  if (summary) block.append(equipmentFacts(summary));
  if (alarmSummary && alarmSummary.open_by_severity) {
    block.append(
      el("h5", { text: t("cc.kpi_open_alarms") }),
      facts(Object.entries(alarmSummary.open_by_severity).map(([s, n]) => [t("cc.sev." + s), num(n)]))
    );
  }
  if (kpis && kpis.lots) block.append(contractTable(kpis));
  return block;
}

async function fillCommuneTable() {
  if (!communeTableBox) return;
  const [all, attention] = await Promise.all([
    getJSON(api.summary).catch(() => null),
    getJSON(query(api.summary, { status: "fault,offline" })).catch(() => null),
  ]);
  if (!all) return;
  for (const row of communeTableBox.querySelectorAll("tbody tr[data-insee]")) {
    const insee = row.dataset.insee;
    row.querySelector("[data-cell='total']").textContent = num((all.by_commune || {})[insee] || 0);
    row.querySelector("[data-cell='attention']").textContent = num(((attention && attention.by_commune) || {})[insee] || 0);
    row.classList.toggle("cc-row--chosen", insee === filters.commune);
  }
}

export async function loadKpis() {
  if (!kpiBox || !can.kpis) return;
  const blocks = [await kpiBlock("")];
  if (filters.commune) blocks.push(await kpiBlock(filters.commune));
  kpiBox.replaceChildren(...blocks);
  await fillCommuneTable();
}
export const reloadKpis = throttle(loadKpis, 10000);

export function wireKpis() {
  if (!communeTableBox) return;
  // A commune's row chooses it, as the commune filter does.
  communeTableBox.addEventListener("click", (e) => {
    const button = e.target.closest("button[data-commune]");
    if (!button) return;
    const select = $("cc-commune");
    if (select) select.value = button.dataset.commune;
    actions.applyCommune(button.dataset.commune);
  });
}
