"""WCAG AA contrast, measured in the browser: every visible piece of text on the pages people
look at most has a contrast ratio of at least 4.5:1 with the colour behind it (3:1 for large
text: 24 px, or 18.66 px bold), computed from the styles Chromium applied."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in

# Walks the visible elements that hold text of their own and computes the WCAG 2 contrast ratio
# of their colour against the first opaque background behind them (semi-transparent layers are
# blended in, from the page's white up).
CONTRAST = """() => {
  const parse = (c) => {
    const m = c.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const over = (top, under) => ({
    r: top.r * top.a + under.r * (1 - top.a),
    g: top.g * top.a + under.g * (1 - top.a),
    b: top.b * top.a + under.b * (1 - top.a),
    a: 1,
  });
  const background = (el) => {
    const layers = [];
    for (let node = el; node; node = node.parentElement) {
      const bg = parse(getComputedStyle(node).backgroundColor);
      if (bg && bg.a > 0) {
        layers.push(bg);
        if (bg.a >= 1) break;
      }
    }
    let colour = { r: 255, g: 255, b: 255, a: 1 };
    for (const layer of layers.reverse()) colour = over(layer, colour);
    return colour;
  };
  const luminance = (c) => {
    const f = (v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const failures = [];
  let checked = 0;
  for (const el of document.querySelectorAll("body *")) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own) continue;
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    if (style.visibility === "hidden" || style.display === "none" || box.width === 0
        || box.height === 0 || Number(style.opacity) === 0) continue;
    if (el.closest("[aria-hidden='true'], .visually-hidden, .sr-only, .leaflet-control-attribution"))
      continue;
    const fg = parse(style.color);
    if (!fg) continue;
    const bg = background(el);
    const text = over(fg, bg);
    const [l1, l2] = [luminance(text), luminance(bg)].sort((a, b) => b - a);
    const ratio = (l1 + 0.05) / (l2 + 0.05);
    const size = parseFloat(style.fontSize);
    const bold = Number(style.fontWeight) >= 700;
    const large = size >= 24 || (bold && size >= 18.66);
    checked += 1;
    if (ratio < (large ? 3 : 4.5) - 0.01) {
      failures.push(`${el.tagName.toLowerCase()}.${el.className} "${el.textContent.trim()
        .slice(0, 40)}" ${ratio.toFixed(2)}:1`);
    }
  }
  return { checked, failures };
}"""


def contrast(page: Page) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(CONTRAST)
    return result


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_command_centre_meets_wcag_aa_contrast(page: Page, lang: str) -> None:
    sign_in(page, "operator", next_path=f"/?lang={lang}")
    expect(page.locator("html")).to_have_attribute("data-map-ready", "1", timeout=15_000)
    found = contrast(page)
    assert found["checked"] > 50
    assert found["failures"] == []


@pytest.mark.parametrize("path", ["/", "/transparency", "/report", "/login"])
def test_public_pages_meet_wcag_aa_contrast(page: Page, path: str) -> None:
    page.goto(path)
    page.wait_for_load_state("load")
    found = contrast(page)
    assert found["checked"] > 5
    assert found["failures"] == []


def test_the_measure_catches_faint_text(page: Page) -> None:
    page.set_content(
        '<p style="color:#999;background:#fff">faint grey on white, 2.8:1</p>'
        '<p style="color:#595959;background:#fff">dark grey on white, 7:1</p>'
        '<h1 style="color:#888;font-size:32px">large text needs 3:1 only</h1>'
    )
    found = contrast(page)
    assert found["checked"] == 3
    assert len(found["failures"]) == 1
    assert "faint grey" in found["failures"][0]
