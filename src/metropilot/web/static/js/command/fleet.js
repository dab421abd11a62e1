/* The fleet panel: the vehicles of the territory (under the commune filter), by reference; one
   opens on the map with its panel. */
import { getJSON, query } from "../shared.js";
import { $, el, renderList, statusBadge } from "./dom.js";
import { bboxParam, fleetFromPoints } from "./logic.js";
import { map } from "./map.js";
import { actions, api, can, errorText, filters, num, t, view } from "./page.js";

const fleetList = $("cc-fleet-list");
let fleet = [];

function vehicleItem(v) {
  return el(
    "li",
    { class: "cc-item", "data-key": v.id },
    el(
      "div",
      { class: "cc-item__main" },
      el("button", { type: "button", class: "cc-link", "data-action": "open", text: v.ref }),
      statusBadge(v.status),
      el("span", { class: "cc-meta", text: `${v.lat.toFixed(4)}, ${v.lon.toFixed(4)}` })
    )
  );
}

export async function loadFleet() {
  if (!can.fleet || !fleetList || !view.territory) return;
  try {
    const answer = await getJSON(
      query(api.mapAssets, { bbox: bboxParam(view.territory.pad(0.2)), zoom: 18, kind: "vehicle", commune: filters.commune })
    );
    fleet = fleetFromPoints(answer.points);
    const count = $("cc-fleet-count");
    if (count) count.textContent = num(fleet.length);
    renderList(fleetList, fleet, vehicleItem, t("cc.fleet_none"));
  } catch (error) {
    renderList(fleetList, [], null, errorText(error));
  }
}

/** Whether the fleet's tab is shown (or the page has none): worth reloading then. */
export function fleetShown() {
  const panel = $("cc-tabpanel-fleet");
  return !panel || !panel.hidden;
}

export function wireFleet() {
  if (!fleetList) return;
  fleetList.addEventListener("click", (e) => {
    const button = e.target.closest("button[data-action='open']");
    if (!button) return;
    const v = fleet.find((x) => x.id === Number(button.closest("[data-key]").dataset.key));
    if (!v) return;
    if (!filters.kinds.has("vehicle")) actions.setKind("vehicle", true);
    map.flyTo([v.lat, v.lon], Math.max(map.getZoom(), 16));
    actions.openAsset(v.id, button);
  });
}
