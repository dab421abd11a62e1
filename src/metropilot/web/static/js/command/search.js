/* Search by reference in the filters' form: results as you type, arrow keys through them, Enter
   goes to the exact match (or the only one), which opens on the map with its panel. */
import { getJSON, query } from "../shared.js";
import { $, el, renderList, statusBadge } from "./dom.js";
import { map } from "./map.js";
import { actions, api, filters, kindLabel, t } from "./page.js";

const searchForm = $("cc-filters");
const searchInput = $("cc-search");
const searchResults = $("cc-search-results");
let searchAbort = null;
let searchTimer = null;
let lastResults = [];

function resultItem(a) {
  return el(
    "li",
    { "data-key": a.id },
    el("button", { type: "button", class: "cc-link", "data-action": "open" }, `${a.ref} · ${kindLabel(a.kind)} · `, statusBadge(a.status))
  );
}

async function search(q) {
  if (searchAbort) searchAbort.abort();
  if (!q.trim()) {
    searchResults.hidden = true;
    lastResults = [];
    return lastResults;
  }
  searchAbort = new AbortController();
  try {
    const answer = await getJSON(query(api.search, { q: q.trim() }), searchAbort.signal);
    lastResults = answer.items || [];
  } catch (error) {
    if (error.name === "AbortError") return lastResults;
    lastResults = [];
  }
  renderList(searchResults, lastResults, resultItem, t("cc.search_none"));
  searchResults.hidden = false;
  return lastResults;
}

function goTo(a, opener) {
  searchResults.hidden = true;
  if (!filters.kinds.has(a.kind)) actions.setKind(a.kind, true);
  const select = $("cc-commune");
  if (filters.commune && a.commune !== filters.commune && select) {
    select.value = "";
    actions.applyCommune("");
  }
  map.flyTo([a.lat, a.lon], 18, { duration: 0.6 });
  actions.openAsset(a.id, opener || searchInput);
}

function onInputKey(e) {
  if (e.key === "ArrowDown" && !searchResults.hidden) {
    const first = searchResults.querySelector("button");
    if (first) {
      e.preventDefault();
      first.focus();
    }
  } else if (e.key === "Escape" && !searchResults.hidden) {
    e.stopPropagation();
    searchResults.hidden = true;
  }
}

function onResultsKey(e) {
  const buttons = Array.from(searchResults.querySelectorAll("button"));
  const i = buttons.indexOf(document.activeElement);
  if (e.key === "ArrowDown" && i < buttons.length - 1) {
    e.preventDefault();
    buttons[i + 1].focus();
  } else if (e.key === "ArrowUp") {
    e.preventDefault();
    (i > 0 ? buttons[i - 1] : searchInput).focus();
  } else if (e.key === "Escape") {
    e.stopPropagation();
    searchResults.hidden = true;
    searchInput.focus();
  }
}

async function onSubmit(e) {
  e.preventDefault();
  const q = searchInput.value.trim();
  if (!q) return;
  clearTimeout(searchTimer);
  const found = await search(q);
  const exact = found.find((a) => a.ref.toUpperCase() === q.toUpperCase());
  if (exact || found.length === 1) goTo(exact || found[0], searchInput);
  else if (found.length) searchResults.querySelector("button").focus();
}

export function wireSearch() {
  if (searchInput) {
    searchInput.addEventListener("input", () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => search(searchInput.value), 200);
    });
    searchInput.addEventListener("keydown", onInputKey);
    searchResults.addEventListener("click", (e) => {
      const button = e.target.closest("button[data-action='open']");
      if (!button) return;
      const a = lastResults.find((x) => x.id === Number(button.closest("[data-key]").dataset.key));
      if (a) goTo(a, searchInput);
    });
    searchResults.addEventListener("keydown", onResultsKey);
  }
  if (searchForm) searchForm.addEventListener("submit", onSubmit);
}
