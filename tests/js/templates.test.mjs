// The command centre's template preloads every module command.js imports (one round trip instead
// of one per import level): a module added under js/command/ must be listed there too.
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { describe, it } from "node:test";

const WEB = new URL("../../src/metropilot/web/", import.meta.url);

describe("command.html", () => {
  const html = readFileSync(new URL("templates/command.html", WEB), "utf-8");
  const preloaded = new Set([...html.matchAll(/<link rel="modulepreload" href="([^"]+)">/g)].map((m) => m[1]));

  it("preloads every module of the command centre, and only modules that exist", () => {
    const modules = readdirSync(new URL("static/js/command/", WEB)).filter((name) => name.endsWith(".js"));
    // The modules are served under the release's path (web.rendering.MODULES_URL).
    const expected = new Set(["{{ modules }}/command-map.js", "{{ modules }}/js/shared.js", ...modules.map((m) => `{{ modules }}/js/command/${m}`)]);
    assert.deepEqual([...preloaded].sort(), [...expected].sort());
  });

  it("loads the entry as a module, after Leaflet", () => {
    const leaflet = html.indexOf("/static/vendor/leaflet/leaflet.js");
    const entry = html.indexOf('<script type="module" src="{{ modules }}/command.js');
    assert.ok(leaflet >= 0 && entry > leaflet);
  });
});
