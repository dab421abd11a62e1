/* What is in view, as a list (keyboard and screen readers): the worst first, at most 40. */
import { WORST_FIRST } from "../../command-map.js";
import { $, el, renderList, statusBadge, throttle } from "./dom.js";
import { assets } from "./map.js";
import { actions, num, t } from "./page.js";

const inViewKind = $("cc-inview-kind");
const inViewList = $("cc-inview-list");
const IN_VIEW_MAX = 40;
const RANK = new Map(WORST_FIRST.map((s, i) => [s, i]));

function draw() {
  if (!inViewList) return;
  const kind = inViewKind ? inViewKind.value : "";
  const found = assets
    .pointsInView()
    .map((i) => assets.point(i))
    .filter((p) => !kind || p.kind === kind)
    .sort((a, b) => RANK.get(a.status) - RANK.get(b.status) || (a.ref < b.ref ? -1 : 1));
  const shown = found.slice(0, IN_VIEW_MAX);
  let empty = t("cc.in_view_none");
  if (!found.length && assets.mode === "clusters") empty = t("cc.in_view_zoom");
  renderList(
    inViewList,
    shown,
    (p) =>
      el(
        "li",
        { "data-key": p.id },
        el("button", { type: "button", class: "cc-link", "data-action": "open" }, p.ref, " · ", statusBadge(p.status))
      ),
    empty
  );
  if (found.length > shown.length) {
    inViewList.append(el("li", { class: "cc-empty", text: t("cc.in_view_more", { count: num(found.length - shown.length) }) }));
  }
}

export const renderInView = throttle(draw, 400);

export function wireInView() {
  if (inViewKind) inViewKind.addEventListener("change", renderInView);
  if (inViewList) {
    inViewList.addEventListener("click", (e) => {
      const button = e.target.closest("button[data-action='open']");
      if (button) actions.openAsset(Number(button.closest("[data-key]").dataset.key), button);
    });
  }
}
