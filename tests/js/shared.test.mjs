// The shared helper module of the pages (static/js/shared.js): words, formats, requests.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";

import {
  ApiError,
  failure,
  formatters,
  getJSON,
  localeOf,
  pageLanguage,
  postForm,
  postJSON,
  query,
  readJSON,
  translator,
} from "../../src/metropilot/web/static/js/shared.js";

// Intl writes French numbers with narrow no-break spaces: compare with plain spaces.
const plain = (text) => text.replace(/[\u202f\u00a0]/g, " ");

describe("translator", () => {
  const { t, lookup } = translator({
    "cc.due_in": "due in {time}",
    "cc.late": "{who} is late by {time}",
    "cc.plain": "Nothing to fill",
    "cc.empty": "",
  });

  it("fills the placeholders it is given", () => {
    assert.equal(t("cc.due_in", { time: "00:05:00" }), "due in 00:05:00");
    assert.equal(t("cc.late", { who: "Team A", time: "1d 02:00:00" }), "Team A is late by 1d 02:00:00");
  });

  it("leaves a placeholder it is not given as written", () => {
    assert.equal(t("cc.late", { time: "00:01:00" }), "{who} is late by 00:01:00");
    assert.equal(t("cc.due_in"), "due in {time}");
  });

  it("writes numbers and zero as text, and never fills a value in twice", () => {
    assert.equal(t("cc.due_in", { time: 0 }), "due in 0");
    assert.equal(t("cc.late", { who: "{time}", time: "x" }), "{time} is late by x");
  });

  it("reads a missing key as the key itself, and lookup says it is missing", () => {
    assert.equal(t("cc.no_such_key", { time: 1 }), "cc.no_such_key");
    assert.equal(lookup("cc.no_such_key"), undefined);
    assert.equal(lookup("cc.plain"), "Nothing to fill");
  });

  it("keeps an empty message empty, and ignores inherited properties", () => {
    assert.equal(t("cc.empty"), "");
    assert.equal(t("toString"), "toString");
    assert.equal(translator(undefined).t("x.y"), "x.y");
  });
});

describe("page language and data islands", () => {
  it("takes data-lang, French or English", () => {
    assert.equal(pageLanguage({ dataset: { lang: "fr" } }), "fr");
    assert.equal(pageLanguage({ dataset: { lang: "fr-FR" } }), "fr");
    assert.equal(pageLanguage({ dataset: { lang: "en" } }), "en");
    assert.equal(pageLanguage(null), "en");
  });

  it("reads JSON, and {} for nothing or something malformed", () => {
    assert.deepEqual(readJSON('{"a": 1}'), { a: 1 });
    assert.deepEqual(readJSON(""), {});
    assert.deepEqual(readJSON("{oops"), {});
    assert.deepEqual(readJSON("null"), {});
  });
});

describe("formatters", () => {
  const en = formatters("en", "Europe/Paris");
  const fr = formatters("fr", "Europe/Paris");

  it("formats with the locale of the page's language", () => {
    assert.equal(localeOf("fr"), "fr-FR");
    assert.equal(localeOf("en"), "en-GB");
  });

  it("groups numbers the way each language does", () => {
    assert.equal(en.number(1234567.5), "1,234,567.5");
    assert.equal(plain(fr.number(1234567.5)), "1 234 567,5");
  });

  it("writes percentages out of 100: French reads 100,0 %", () => {
    assert.equal(plain(fr.percent(100)), "100,0 %");
    assert.equal(plain(fr.percent(99.54)), "99,5 %");
    assert.equal(en.percent(100), "100.0%");
    assert.equal(en.percent(12.345, 2), "12.35%");
  });

  it("writes fixed decimals", () => {
    assert.equal(fr.decimal(45.7, 5), "45,70000");
    assert.equal(en.decimal(4.85, 5), "4.85000");
  });

  it("writes dates in the platform's time zone, day before month, and a dash for nothing", () => {
    assert.equal(fr.dateTime("2026-03-01T12:00:05Z"), "01/03 13:00:05");
    assert.match(en.dateTime("2026-07-14T22:30:00Z"), /^15\/07,? 00:30:00$/);
    assert.equal(en.dateTime(null), "—");
    assert.equal(fr.dateTime("not a date"), "—");
  });
});

describe("query", () => {
  it("leaves out empty values and appends to an existing query", () => {
    assert.equal(query("/api/v1/alarms", { state: "active", commune: "", kind: null, limit: 100 }), "/api/v1/alarms?state=active&limit=100");
    assert.equal(query("/a?x=1", { y: 2 }), "/a?x=1&y=2");
    assert.equal(query("/a", {}), "/a");
  });
});

describe("requests", () => {
  const realFetch = globalThis.fetch;
  const calls = [];
  function answer(status, body, headers) {
    globalThis.fetch = async (url, init) => {
      calls.push({ url, init });
      const text = body === undefined ? null : typeof body === "string" ? body : JSON.stringify(body);
      return new Response(text, { status, headers: headers || { "content-type": "application/json" } });
    };
  }
  afterEach(() => {
    globalThis.fetch = realFetch;
    calls.length = 0;
  });

  it("gets JSON with the session's cookie", async () => {
    answer(200, { items: [1, 2] });
    assert.deepEqual(await getJSON("/api/v1/cases"), { items: [1, 2] });
    assert.equal(calls[0].init.credentials, "same-origin");
    assert.equal(calls[0].init.headers.Accept, "application/json");
  });

  it("turns the API's error into an ApiError with its code and status", async () => {
    answer(409, { error: { code: "conflict", message: "The alarm is already cleared" } });
    await assert.rejects(getJSON("/api/v1/alarms/1"), (error) => {
      assert.ok(error instanceof ApiError);
      assert.equal(error.message, "The alarm is already cleared");
      assert.equal(error.code, "conflict");
      assert.equal(error.status, 409);
      return true;
    });
  });

  it("says FastAPI's detail, validation messages included", async () => {
    answer(403, { detail: "Not allowed" });
    await assert.rejects(postJSON("/x", {}), { message: "Not allowed", status: 403 });
    answer(422, { detail: [{ loc: ["body", "note"], msg: "field required" }, { msg: "too long" }] });
    await assert.rejects(postJSON("/x", {}), { message: "field required; too long", status: 422 });
  });

  it("falls back on the status when the body is not JSON", async () => {
    const error = await failure(new Response("<html>", { status: 502, statusText: "Bad Gateway" }));
    assert.equal(error.message, "Bad Gateway");
    assert.equal(error.status, 502);
    const bare = await failure(new Response("", { status: 500 }));
    assert.equal(bare.message, "500");
  });

  it("posts JSON with the CSRF header, and reads no body from a 204", async () => {
    answer(204);
    assert.equal(await postJSON("/api/v1/alarms/1/acknowledge", { note: "x" }), null);
    const { init } = calls[0];
    assert.equal(init.method, "POST");
    assert.equal(init.headers["Content-Type"], "application/json");
    assert.ok("X-CSRF-Token" in init.headers);
    assert.equal(init.body, '{"note":"x"}');
  });

  it("posts a form without setting its content type (the browser sets the boundary)", async () => {
    answer(200, { id: 7 });
    const form = new FormData();
    form.append("photos", new Blob(["x"]), "a.jpg");
    assert.deepEqual(await postForm("/api/v1/work-orders/7/photos", form), { id: 7 });
    assert.equal(calls[0].init.headers["Content-Type"], undefined);
    assert.ok("X-CSRF-Token" in calls[0].init.headers);
  });

  it("lets a cancelled request's AbortError through", async () => {
    const controller = new AbortController();
    controller.abort();
    globalThis.fetch = realFetch;
    await assert.rejects(getJSON("http://127.0.0.1:9/never", controller.signal), { name: "AbortError" });
  });
});
