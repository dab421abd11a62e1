/* The command centre's small DOM helpers: building elements, rebuilding lists without losing
   the keyboard focus, throttling redraws, and the live region and outcomes the panels write. */
import { statusLabel } from "./page.js";

export const $ = (id) => document.getElementById(id);

const ATTRIBUTES = new Set(["role", "for", "tabindex"]);

/** An element: attrs are properties, except class, text, data-*, aria-*, role, for, tabindex. */
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("data-") || name.startsWith("aria-") || ATTRIBUTES.has(name))
      node.setAttribute(name, value === true ? "" : String(value));
    else node[name] = value;
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Rebuild a list, keeping the focused control (by its item key and action) focused. */
export function renderList(list, items, build, empty) {
  if (!list) return;
  const active = document.activeElement;
  let keep = null;
  if (active && list.contains(active)) {
    const item = active.closest("[data-key]");
    keep = item ? [item.dataset.key, active.dataset.action || ""] : null;
  }
  const fragment = document.createDocumentFragment();
  for (const item of items) fragment.append(build(item));
  if (!items.length && empty) fragment.append(el("li", { class: "cc-empty", text: empty }));
  list.replaceChildren(fragment);
  if (keep) {
    const again = list.querySelector(`[data-key="${CSS.escape(keep[0])}"] [data-action="${CSS.escape(keep[1])}"]`);
    if (again) again.focus();
  }
}

/** fn at most once every `wait` ms, the calls in between folded into the next run. */
export function throttle(fn, wait) {
  let timer = null;
  let lastRun = -Infinity;
  return function () {
    if (timer !== null) return;
    const delay = Math.max(0, wait - (performance.now() - lastRun));
    timer = setTimeout(() => {
      timer = null;
      lastRun = performance.now();
      fn();
    }, delay);
  };
}

const live = $("cc-live");
let lastAnnounce = -Infinity;
/** Say something in the live region; unless forced, at most once every 3 s. */
export function announce(text, force) {
  const now = performance.now();
  if (!live || (!force && now - lastAnnounce < 3000)) return;
  lastAnnounce = now;
  live.textContent = text;
}

export function statusBadge(status) {
  return el(
    "span",
    { class: "cc-state cc-state--" + status },
    el("span", { class: "cc-shape cc-shape--" + status, "aria-hidden": "true" }),
    statusLabel(status)
  );
}

/** An action's outcome, written next to the control that asked for it. */
export function outcome(where, text, bad) {
  if (!where) return;
  where.textContent = text;
  where.classList.toggle("cc-outcome--error", !!bad);
}

/** A titled section of the asset panel. */
export function section(title, ...content) {
  return el("section", { class: "cc-asset__section" }, el("h4", { text: title }), ...content);
}

/** A definition list of [label, value] pairs, leaving out empty values. */
export function facts(pairs) {
  const dl = el("dl", { class: "cc-facts" });
  for (const [label, value] of pairs) {
    if (value === null || value === undefined || value === "") continue;
    dl.append(el("div", {}, el("dt", { text: label }), el("dd", {}, value)));
  }
  return dl;
}
