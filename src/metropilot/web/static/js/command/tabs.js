/* The side panel's tabs (alarms, reports, work, fleet, KPIs): ARIA tabs, arrow keys, Home, End. */
import { $ } from "./dom.js";
import { actions } from "./page.js";
import { reloadKpis } from "./kpis.js";

export const tabs = Array.from(document.querySelectorAll(".cc-tabs [role='tab']"));

export function showTab(key, focus) {
  for (const tab of tabs) {
    const on = tab.dataset.tab === key;
    tab.setAttribute("aria-selected", on ? "true" : "false");
    tab.tabIndex = on ? 0 : -1;
    const panel = $(tab.getAttribute("aria-controls"));
    if (panel) panel.hidden = !on;
    if (on && focus) tab.focus();
  }
  if (key === "fleet") actions.loadFleet();
  if (key === "kpis") reloadKpis();
  actions.tickClocks();
}

const KEYS = {
  ArrowRight: (i) => (i + 1) % tabs.length,
  ArrowLeft: (i) => (i - 1 + tabs.length) % tabs.length,
  Home: () => 0,
  End: () => tabs.length - 1,
};

export function wireTabs() {
  for (const tab of tabs) {
    tab.addEventListener("click", () => showTab(tab.dataset.tab));
    tab.addEventListener("keydown", (e) => {
      const move = KEYS[e.key];
      if (!move) return;
      e.preventDefault();
      showTab(tabs[move(tabs.indexOf(tab))].dataset.tab, true);
    });
  }
}

/** Show the tab the server marked selected (and load what it shows). */
export function showFirstTab() {
  const first = tabs.find((tab) => tab.getAttribute("aria-selected") === "true");
  if (first) showTab(first.dataset.tab);
}
