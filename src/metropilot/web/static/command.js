/* The command centre (GET / for operators, supervisors, commune agents, contractors).

   The page's configuration (#cc-config, a JSON data attribute) says who is looking, what the API lets them do, the
   communes and kinds to filter by, and the messages in the page's language. Everything else
   comes from the JSON API (session cookie; X-CSRF-Token from <meta name="csrf-token"> on
   changes) and from the live stream (/api/v1/stream, EventSource).

   Live updates are queued and applied once per animation frame: the map is redrawn at most
   once a frame, the lists at most every few hundred milliseconds, so that hundreds of updates a
   second never make a long task. The benchmark waits on <html data-map-ready="1"> and reads
   window.__metropilot.liveUpdates (also <html data-live-updates> and #map[data-live-updates]). */
/* global L, MetropilotMap */
(function () {
  "use strict";

  const island = document.getElementById("cc-config");
  const mapBox = document.getElementById("map");
  if (!island || !mapBox || !window.L || !window.MetropilotMap) return;
  const cfg = JSON.parse(island.dataset.config || "{}");
  const M = cfg.messages || {};
  const can = cfg.can || {};
  const api = cfg.api || {};
  const meta = document.querySelector('meta[name="csrf-token"]');
  const csrf = meta ? meta.getAttribute("content") : "";
  const lang = cfg.lang || "en";
  const TZ = cfg.timeZone || "Europe/Paris";
  const communeNames = new Map((cfg.communes || []).map((c) => [c.insee, c.name]));
  const kindLabels = new Map((cfg.kinds || []).map((k) => [k.key, k.label]));
  const LIVE_ORDER_STATES = "created,dispatched,accepted,en_route,on_site,done,reopened";
  const LIVE_CASE_STATES = "open,triaged,dispatched,in_progress,waiting_third_party,reopened";

  const perf = (window.__metropilot = {
    mapReady: false,
    liveUpdates: 0,
    queued: 0,
    frames: 0,
    mapDraws: 0,
    assetsLoaded: 0,
    startedAt: performance.now(),
    readyAt: null,
  });

  // ---- Words, numbers, dates ----------------------------------------------------------------

  function t(key, values) {
    let text = M[key] !== undefined ? M[key] : key;
    for (const [name, value] of Object.entries(values || {})) {
      text = text.split("{" + name + "}").join(String(value));
    }
    return text;
  }
  const numberFormat = new Intl.NumberFormat(lang === "fr" ? "fr-FR" : "en-GB");
  const num = (n) => numberFormat.format(n);
  const timeFormat = new Intl.DateTimeFormat(lang === "fr" ? "fr-FR" : "en-GB", {
    timeZone: TZ,
    day: "2-digit",
    month: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
  function when(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    return isNaN(d) ? "—" : timeFormat.format(d);
  }
  const kindLabel = (k) => kindLabels.get(k) || M["kind." + k] || k || "";
  const statusLabel = (s) => M["status." + s] || s || "";
  const communeName = (insee) => communeNames.get(insee) || insee || "";
  function countdown(ms) {
    const late = ms < 0;
    let s = Math.floor(Math.abs(ms) / 1000);
    const d = Math.floor(s / 86400);
    s -= d * 86400;
    const h = Math.floor(s / 3600);
    s -= h * 3600;
    const m = Math.floor(s / 60);
    s -= m * 60;
    const pad = (v) => String(v).padStart(2, "0");
    const text = (d ? d + t("cc.unit_day") + " " : "") + pad(h) + ":" + pad(m) + ":" + pad(s);
    return late ? t("cc.late_by", { time: text }) : t("cc.due_in", { time: text });
  }

  // ---- DOM helpers ----------------------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else if (name.startsWith("data-") || name.startsWith("aria-") || name === "role" || name === "for" || name === "tabindex")
        node.setAttribute(name, value === true ? "" : String(value));
      else node[name] = value;
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }
  const $ = (id) => document.getElementById(id);
  const live = $("cc-live");
  let lastAnnounce = -Infinity;
  function announce(text, force) {
    const now = performance.now();
    if (!live || (!force && now - lastAnnounce < 3000)) return;
    lastAnnounce = now;
    live.textContent = text;
  }
  function statusBadge(status) {
    return el(
      "span",
      { class: "cc-state cc-state--" + status },
      el("span", { class: "cc-shape cc-shape--" + status, "aria-hidden": "true" }),
      statusLabel(status)
    );
  }

  // Rebuild a list, keeping the focused control (by its item key and action) focused.
  function renderList(list, items, build, empty) {
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

  function throttle(fn, wait) {
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

  // ---- The API ----------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(message, code, status) {
      super(message);
      this.code = code;
      this.status = status;
    }
  }

  async function failure(response) {
    try {
      const body = await response.json();
      const error = body && body.error;
      if (error) return new ApiError(error.message || error.code, error.code, response.status);
      return new ApiError(body.detail || response.statusText, "", response.status);
    } catch (e) {
      return new ApiError(response.statusText || String(response.status), "", response.status);
    }
  }

  async function getJSON(url, signal) {
    const response = await fetch(url, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
      signal,
    });
    if (!response.ok) throw await failure(response);
    return response.json();
  }

  async function postJSON(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
      credentials: "same-origin",
      body: JSON.stringify(body || {}),
    });
    if (!response.ok) throw await failure(response);
    return response.status === 204 ? null : response.json();
  }

  function query(base, params) {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(params)) {
      if (value !== null && value !== undefined && value !== "") search.set(name, value);
    }
    const text = search.toString();
    return text ? base + (base.includes("?") ? "&" : "?") + text : base;
  }

  function errorText(error) {
    if (error && error.name === "AbortError") return "";
    return t("cc.error", { message: (error && error.message) || String(error) });
  }

  // An action's outcome, written next to the control that asked for it.
  function outcome(where, text, bad) {
    if (!where) return;
    where.textContent = text;
    where.classList.toggle("cc-outcome--error", !!bad);
  }

  // ---- Filters ----------------------------------------------------------------------------------

  const filters = {
    commune: "",
    kinds: new Set((cfg.kinds || []).map((k) => k.key)),
  };
  const communeSelect = $("cc-commune");
  if (communeSelect) filters.commune = communeSelect.value;
  const allKinds = () => filters.kinds.size === (cfg.kinds || []).length;
  const kindParam = () => (allKinds() ? "" : Array.from(filters.kinds).join(","));

  // ---- The map ----------------------------------------------------------------------------------

  const map = L.map(mapBox, {
    zoomControl: true,
    keyboard: true,
    minZoom: 9,
    maxZoom: 19,
    zoomSnap: 0.25,
    zoomDelta: 1,
    worldCopyJump: false,
    attributionControl: true,
  });
  map.attributionControl.setPrefix("Leaflet");
  if (cfg.tileUrl) {
    L.tileLayer(cfg.tileUrl, { attribution: cfg.tileAttribution || "", maxZoom: 19 }).addTo(map);
  } else {
    mapBox.classList.add("cc-map--offline");
  }
  // Above the communes' fill (overlay pane, 400), under the assets; neither takes the pointer
  // (the communes keep their tooltips; clicks on assets are hit-tested from the map's events).
  map.createPane("ccStreets").style.zIndex = 410;
  map.createPane("ccAssets").style.zIndex = 450;
  const communeRenderer = L.svg({ padding: 0.5 });
  const streetRenderer = L.canvas({ padding: 0.5, pane: "ccStreets" });
  const assets = new MetropilotMap.AssetLayer({ pane: "ccAssets" }).addTo(map);
  let communesLayer = null;
  let mainStreets = null;
  let localStreets = null;
  let territory = null; // L.LatLngBounds of every commune

  // The communes' colours are in command.css (classes on each path): the public page's
  // stylesheet styles svg.map__communes paths too, and CSS beats SVG attributes.
  function communeStyle() {
    return { weight: 1.2, fillOpacity: cfg.tileUrl ? 0.05 : 1, interactive: true };
  }

  function restyleCommunes() {
    if (!communesLayer) return;
    communesLayer.eachLayer((layer) => {
      const path = layer.getElement && layer.getElement();
      const insee = layer.feature && layer.feature.properties && layer.feature.properties.insee;
      if (!path) return;
      const mine = !cfg.scoped || cfg.role === "contractor" || communeNames.has(insee);
      path.classList.add("cc-commune");
      path.classList.toggle("cc-commune--chosen", !!filters.commune && filters.commune === insee);
      path.classList.toggle("cc-commune--outside", !mine);
      if (filters.commune === insee) layer.bringToFront();
    });
  }

  async function loadCommunes() {
    const collection = await getJSON(api.communes);
    communesLayer = L.geoJSON(collection, {
      renderer: communeRenderer,
      style: communeStyle,
      onEachFeature: (feature, layer) => {
        const p = feature.properties || {};
        layer.bindTooltip(p.name || p.insee || "", { sticky: true, direction: "top" });
      },
    });
    territory = communesLayer.getBounds();
    fitToFilter(false); // the view first: layers added to a map without one wait for it
    communesLayer.addTo(map);
    communesLayer.bringToBack();
    const container = communeRenderer._container;
    if (container) {
      container.classList.add("map__communes");
      container.setAttribute("aria-hidden", "true");
    }
    restyleCommunes();
  }

  function communeBounds(insee) {
    let bounds = null;
    if (!communesLayer) return null;
    communesLayer.eachLayer((layer) => {
      const p = layer.feature && layer.feature.properties;
      if (p && p.insee === insee) bounds = layer.getBounds();
    });
    return bounds;
  }

  function fitToFilter(animate) {
    let bounds = filters.commune ? communeBounds(filters.commune) : null;
    if (!bounds && cfg.scoped && cfg.role !== "contractor" && communeNames.size) {
      for (const insee of communeNames.keys()) {
        const b = communeBounds(insee);
        if (b) bounds = bounds ? bounds.extend(b) : L.latLngBounds(b.getSouthWest(), b.getNorthEast());
      }
    }
    bounds = bounds || territory;
    if (bounds && bounds.isValid()) map.fitBounds(bounds, { padding: [16, 16], animate: !!animate });
  }

  function streetStyle(feature) {
    const main = feature.properties && feature.properties.category === "main";
    return { color: main ? "#a9b1bb" : "#ccd2d9", weight: main ? 2.5 : 1, interactive: false };
  }

  async function loadMainStreets() {
    if (!api.streets || cfg.tileUrl) return;
    try {
      const collection = await getJSON(query(api.streets, { category: "main" }));
      mainStreets = L.geoJSON(collection, { renderer: streetRenderer, style: streetStyle, interactive: false }).addTo(map);
    } catch (error) {
      /* The map works without streets (an older server): boundaries and assets still show. */
    }
  }

  let streetsAbort = null;
  async function loadLocalStreets() {
    if (!api.streets || cfg.tileUrl) return;
    if (map.getZoom() < 14) {
      if (localStreets) localStreets.remove();
      localStreets = null;
      return;
    }
    if (streetsAbort) streetsAbort.abort();
    streetsAbort = new AbortController();
    try {
      const collection = await getJSON(
        query(api.streets, { bbox: bboxParam(map.getBounds().pad(0.25)), category: "local" }),
        streetsAbort.signal
      );
      if (localStreets) localStreets.remove();
      localStreets = L.geoJSON(collection, { renderer: streetRenderer, style: streetStyle, interactive: false }).addTo(map);
    } catch (error) {
      /* Streets are decoration: the next move tries again. */
    }
  }

  function bboxParam(bounds) {
    const f = (v) => v.toFixed(5);
    return [f(bounds.getWest()), f(bounds.getSouth()), f(bounds.getEast()), f(bounds.getNorth())].join(",");
  }

  let assetsAbort = null;
  let assetsTimer = null;
  const mapStatus = $("map-status");

  async function loadAssets() {
    if (assetsAbort) assetsAbort.abort();
    if (!filters.kinds.size) {
      assets.clear();
      afterAssets();
      return;
    }
    assetsAbort = new AbortController();
    const padded = map.getBounds().pad(MetropilotMap.PAD);
    const url = query(api.mapAssets, {
      bbox: bboxParam(padded),
      zoom: Math.round(map.getZoom()),
      kind: kindParam(),
      commune: filters.commune,
    });
    mapBox.setAttribute("aria-busy", "true");
    try {
      const answer = await getJSON(url, assetsAbort.signal);
      assets.setData(answer);
      perf.assetsLoaded++;
      afterAssets();
    } catch (error) {
      if (error.name === "AbortError") return;
      if (mapStatus) mapStatus.textContent = errorText(error);
      mapBox.setAttribute("aria-busy", "false");
    }
  }

  function afterAssets() {
    mapBox.setAttribute("aria-busy", "false");
    if (mapStatus) {
      const count = num(assets.total || 0);
      mapStatus.textContent =
        assets.mode === "clusters" ? t("cc.status_clusters", { count }) : t("cc.status_points", { count });
    }
    renderInView();
    if (selected && selected.id !== null) assets.select(selected.id);
  }

  function scheduleAssets() {
    clearTimeout(assetsTimer);
    assetsTimer = setTimeout(loadAssets, 120);
  }

  map.on("moveend", () => {
    scheduleAssets();
    loadLocalStreets();
  });

  // Clicks on the canvas: a point opens its panel, a cluster zooms in on it.
  map.on("click", (e) => {
    const hit = assets.hitTest(e.containerPoint);
    if (!hit) return;
    if (hit.type === "point") openAsset(hit.asset.id, null);
    else map.flyTo([hit.cluster.lat, hit.cluster.lon], Math.min(map.getZoom() + 2, 18));
  });
  let hoverFrame = 0;
  map.on("mousemove", (e) => {
    if (hoverFrame) return;
    hoverFrame = requestAnimationFrame(() => {
      hoverFrame = 0;
      mapBox.classList.toggle("cc-map--hit", !!assets.hitTest(e.containerPoint));
    });
  });

  // ---- What is in view, as a list (keyboard and screen readers) ------------------------------------

  const inViewKind = $("cc-inview-kind");
  const inViewList = $("cc-inview-list");
  const IN_VIEW_MAX = 40;
  const renderInView = throttle(() => {
    if (!inViewList) return;
    const kind = inViewKind ? inViewKind.value : "";
    const rank = new Map(MetropilotMap.WORST_FIRST.map((s, i) => [s, i]));
    const found = assets
      .pointsInView()
      .map((i) => assets.point(i))
      .filter((p) => !kind || p.kind === kind)
      .sort((a, b) => rank.get(a.status) - rank.get(b.status) || (a.ref < b.ref ? -1 : 1));
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
          el(
            "button",
            { type: "button", class: "cc-link", "data-action": "open" },
            p.ref,
            " · ",
            statusBadge(p.status)
          )
        ),
      empty
    );
    if (found.length > shown.length) {
      inViewList.append(el("li", { class: "cc-empty", text: t("cc.in_view_more", { count: num(found.length - shown.length) }) }));
    }
  }, 400);
  if (inViewKind) inViewKind.addEventListener("change", renderInView);
  if (inViewList) {
    inViewList.addEventListener("click", (e) => {
      const button = e.target.closest("button[data-action='open']");
      if (button) openAsset(Number(button.closest("[data-key]").dataset.key), button);
    });
  }

  // ---- Legend and layer counts ------------------------------------------------------------------

  const statusCounts = {};
  const kindCounts = {};
  function renderCounts() {
    for (const node of document.querySelectorAll("[data-status-count]")) {
      const n = statusCounts[node.dataset.statusCount] || 0;
      node.textContent = num(n);
      node.closest("li").classList.toggle("is-zero", !n);
    }
    for (const node of document.querySelectorAll("[data-kind-count]")) {
      node.textContent = "(" + num(kindCounts[node.dataset.kindCount] || 0) + ")";
    }
  }
  const renderCountsSoon = throttle(renderCounts, 500);

  async function loadCounts() {
    try {
      const summary = await getJSON(query(api.summary, { commune: filters.commune, kind: kindParam() }));
      for (const key of Object.keys(statusCounts)) delete statusCounts[key];
      Object.assign(statusCounts, summary.by_status || {});
      const byKind = await getJSON(query(api.summary, { commune: filters.commune }));
      for (const key of Object.keys(kindCounts)) delete kindCounts[key];
      Object.assign(kindCounts, byKind.by_kind || {});
      renderCounts();
    } catch (error) {
      /* Counts are a help; the map stands without them. */
    }
  }

  // ---- The asset panel ----------------------------------------------------------------------------

  const assetPanel = $("cc-asset");
  const assetBody = $("cc-asset-body");
  const assetTitle = $("cc-asset-title");
  const assetStatus = $("cc-asset-status");
  let selected = null; // {id, returnFocus}
  let assetAbort = null;

  // The asset panel takes a column from the map (wall screen): tell Leaflet its new size.
  function resized() {
    requestAnimationFrame(() => map.invalidateSize({ pan: false }));
  }

  function closeAsset() {
    if (!selected) return;
    const back = selected.returnFocus;
    selected = null;
    if (assetAbort) assetAbort.abort();
    assetPanel.hidden = true;
    document.body.classList.remove("cc-has-asset");
    resized();
    assets.select(null);
    if (back && document.contains(back)) back.focus();
    else mapBox.focus();
  }
  $("cc-asset-close").addEventListener("click", closeAsset);

  function section(titleKey, ...content) {
    return el("section", { class: "cc-asset__section" }, el("h4", { text: t(titleKey) }), ...content);
  }

  function facts(pairs) {
    const dl = el("dl", { class: "cc-facts" });
    for (const [label, value] of pairs) {
      if (value === null || value === undefined || value === "") continue;
      dl.append(el("div", {}, el("dt", { text: label }), el("dd", {}, value)));
    }
    return dl;
  }

  async function openAsset(id, opener) {
    if (assetAbort) assetAbort.abort();
    assetAbort = new AbortController();
    const signal = assetAbort.signal;
    selected = { id, returnFocus: opener || document.activeElement };
    assets.select(id);
    const wasHidden = assetPanel.hidden;
    assetPanel.hidden = false;
    document.body.classList.add("cc-has-asset");
    if (wasHidden) resized();
    assetTitle.textContent = t("cc.asset_loading");
    assetStatus.textContent = "";
    assetBody.replaceChildren();
    assetPanel.focus();
    let asset;
    try {
      asset = await getJSON(`${api.assets}/${id}`, signal);
    } catch (error) {
      assetTitle.textContent = t("cc.asset");
      assetStatus.textContent = errorText(error);
      return;
    }
    if (!selected || selected.id !== id) return;
    assetTitle.textContent = `${asset.external_ref} · ${kindLabel(asset.kind)}`;
    const attributes = Object.entries(asset.attributes || {}).map(([k, v]) => [k.replace(/_/g, " "), String(v)]);
    assetBody.replaceChildren(
      facts([
        [t("cc.f.status"), statusBadge(asset.status)],
        [t("cc.f.name"), asset.name],
        [t("cc.f.commune"), communeName(asset.commune)],
        [t("cc.f.maintainer"), asset.maintainer],
        [t("cc.f.parent"), asset.parent_ref],
        [t("cc.f.position"), `${asset.lat.toFixed(5)}, ${asset.lon.toFixed(5)}`],
        [t("cc.f.updated"), when(asset.updated_at)],
      ]),
      attributes.length ? section("cc.attributes", facts(attributes)) : null,
      el("div", { id: "cc-asset-telemetry" }),
      el("div", { id: "cc-asset-alarms" }),
      el("div", { id: "cc-asset-cases" }),
      section(
        "cc.history",
        el(
          "ol",
          { class: "cc-history" },
          ...(asset.history || []).slice(0, 8).map((h) =>
            el("li", {}, el("span", { class: "cc-meta", text: when(h.at) }), " ", historyText(h))
          )
        )
      )
    );
    if (asset.lon !== undefined && !map.getBounds().contains([asset.lat, asset.lon])) {
      map.panTo([asset.lat, asset.lon]);
    }
    loadTelemetry(asset, signal);
    loadAssetAlarms(asset, signal);
    loadAssetCases(asset, signal);
  }

  function historyText(h) {
    const changes = h.changes || {};
    if (changes.status) {
      const c = changes.status;
      const from = Array.isArray(c) ? c[0] : c.from || c.old;
      const to = Array.isArray(c) ? c[1] : c.to || c.new;
      return t("cc.history_status", { from: statusLabel(from), to: statusLabel(to), actor: h.actor || "" });
    }
    return t("cc.history_other", { action: h.action || "", actor: h.actor || "" });
  }

  const PREFERRED_METRICS = ["power_w", "light_level_pct", "pm10", "occupancy_pct", "temperature_c", "energy_wh"];

  async function loadTelemetry(asset, signal) {
    const box = $("cc-asset-telemetry");
    if (!box) return;
    let twin;
    try {
      twin = await getJSON(`${api.assets}/${asset.id}/twin`, signal);
    } catch (error) {
      box.replaceChildren(section("cc.telemetry", el("p", { class: "cc-muted", text: errorText(error) })));
      return;
    }
    const values = twin.values || {};
    const numeric = Object.keys(values).filter((m) => typeof values[m].value === "number" && !m.startsWith("position_"));
    numeric.sort((a, b) => {
      const ia = PREFERRED_METRICS.indexOf(a);
      const ib = PREFERRED_METRICS.indexOf(b);
      return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || (a < b ? -1 : 1);
    });
    const latest = facts(
      Object.entries(values).map(([m, v]) => [m, `${typeof v.value === "number" ? num(v.value) : String(v.value)} (${when(v.ts)})`])
    );
    const content = [el("p", { class: "cc-meta", text: t("cc.last_seen", { when: when(twin.last_seen) }) }), latest];
    if (numeric.length) {
      const select = el("select", { id: "cc-metric" });
      for (const m of numeric) select.append(el("option", { value: m, text: m }));
      const canvas = el("canvas", { class: "cc-chart", width: 420, height: 160, role: "img", "aria-labelledby": "cc-chart-summary" });
      const summary = el("p", { class: "cc-meta", id: "cc-chart-summary" });
      content.push(
        el("div", { class: "cc-field" }, el("label", { for: "cc-metric", text: t("cc.metric") }), select),
        canvas,
        summary
      );
      const draw = () => drawSeries(asset.id, select.value, canvas, summary, signal);
      select.addEventListener("change", draw);
      draw();
    } else {
      content.push(el("p", { class: "cc-muted", text: t("cc.no_telemetry") }));
    }
    box.replaceChildren(section("cc.telemetry", ...content));
  }

  async function drawSeries(id, metric, canvas, summary, signal) {
    const from = new Date(Date.now() - 24 * 3600 * 1000).toISOString();
    let items = [];
    try {
      const answer = await getJSON(query(`${api.assets}/${id}/telemetry`, { metric, from, bucket: "raw", limit: 1000 }), signal);
      items = answer.items || [];
    } catch (error) {
      summary.textContent = errorText(error);
      return;
    }
    const ctx = canvas.getContext("2d");
    const w = canvas.width;
    const h = canvas.height;
    ctx.clearRect(0, 0, w, h);
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, w, h);
    const points = items.map((i) => [Date.parse(i.ts), typeof i.value === "number" ? i.value : Number(i.value)]).filter((p) => isFinite(p[1]));
    if (!points.length) {
      summary.textContent = t("cc.chart_empty", { metric });
      return;
    }
    points.sort((a, b) => a[0] - b[0]);
    let t0 = points[0][0];
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
    const last = points[points.length - 1];
    summary.textContent = t("cc.chart_summary", {
      metric,
      count: num(points.length),
      min: num(+lo.toFixed(3)),
      max: num(+hi.toFixed(3)),
      last: num(last[1]),
      when: when(new Date(last[0]).toISOString()),
    });
  }

  async function loadAssetAlarms(asset, signal) {
    const box = $("cc-asset-alarms");
    if (!box || !can.alarms) return;
    try {
      const answer = await getJSON(query(api.alarms, { asset: asset.id, state: "active,acknowledged,cleared", limit: 10 }), signal);
      const items = answer.items || [];
      box.replaceChildren(
        section(
          "cc.asset_alarms",
          items.length
            ? el(
                "ul",
                { class: "cc-mini" },
                ...items.map((a) =>
                  el(
                    "li",
                    {},
                    el("span", { class: "cc-sev cc-sev--" + a.severity, text: t("cc.sev." + a.severity) }),
                    " ",
                    el("button", { type: "button", class: "cc-link", text: a.rule_name, onclick: () => openAlarm(a.id) }),
                    " · ",
                    t("cc.alarm_state." + a.state),
                    " · ",
                    when(a.raised_at)
                  )
                )
              )
            : el("p", { class: "cc-muted", text: t("cc.none") })
        )
      );
    } catch (error) {
      box.replaceChildren(section("cc.asset_alarms", el("p", { class: "cc-muted", text: errorText(error) })));
    }
  }

  async function loadAssetCases(asset, signal) {
    const box = $("cc-asset-cases");
    if (!box || !can.cases) return;
    try {
      const answer = await getJSON(query(api.cases, { asset: asset.id, limit: 10 }), signal);
      const cases = answer.items || [];
      const items = [];
      for (const c of cases) {
        const orders = [];
        if (can.workOrders && items.length < 5) {
          try {
            const o = await getJSON(query(api.workOrders, { case: c.id, limit: 5 }), signal);
            for (const order of o.items || []) {
              orders.push(el("li", {}, t("cc.order_line", { id: order.id, state: t("cc.wo_state." + order.state) })));
            }
          } catch (error) {
            /* The case is shown without its orders. */
          }
        }
        items.push(
          el(
            "li",
            {},
            el("button", { type: "button", class: "cc-link", text: t("cc.case_line", { id: c.id, title: c.title || c.category }), onclick: () => openCase(c.id) }),
            " · ",
            t("cc.case_state." + c.state),
            orders.length ? el("ul", { class: "cc-mini" }, ...orders) : null
          )
        );
      }
      box.replaceChildren(
        section("cc.asset_cases", items.length ? el("ul", { class: "cc-mini" }, ...items) : el("p", { class: "cc-muted", text: t("cc.none") }))
      );
    } catch (error) {
      box.replaceChildren(section("cc.asset_cases", el("p", { class: "cc-muted", text: errorText(error) })));
    }
  }

  // ---- Alarms -------------------------------------------------------------------------------------

  const alarms = new Map(); // id → alarm (the API's shape; from an event until reloaded)
  const alarmsList = $("cc-alarms-list");
  const alarmsAcked = $("cc-alarms-acked");
  const alarmDetail = $("cc-alarm-detail");
  const SEVERITY_RANK = { critical: 0, major: 1, minor: 2, warning: 3, info: 4 };

  async function loadAlarms() {
    if (!can.alarms) return;
    try {
      const states = alarmsAcked && alarmsAcked.checked ? "active,acknowledged" : "active";
      const answer = await getJSON(query(api.alarms, { state: states, commune: filters.commune, kind: kindParam(), limit: 100 }));
      alarms.clear();
      for (const a of answer.items || []) alarms.set(a.id, a);
      renderAlarms();
    } catch (error) {
      renderList(alarmsList, [], null, errorText(error));
    }
  }
  const reloadAlarms = throttle(loadAlarms, 2000);

  function alarmVisible(a) {
    if (a.state === "cleared") return false;
    if (a.state === "acknowledged" && !(alarmsAcked && alarmsAcked.checked)) return false;
    if (filters.commune && a.commune !== filters.commune) return false;
    if (!filters.kinds.has(a.kind)) return false;
    return true;
  }

  const renderAlarms = throttle(() => {
    const items = Array.from(alarms.values())
      .filter(alarmVisible)
      .sort(
        (a, b) =>
          (a.state === "active" ? 0 : 1) - (b.state === "active" ? 0 : 1) ||
          (SEVERITY_RANK[a.severity] ?? 9) - (SEVERITY_RANK[b.severity] ?? 9) ||
          (b.raised_at || "").localeCompare(a.raised_at || "")
      )
      .slice(0, 100);
    const count = $("cc-alarms-count");
    if (count) count.textContent = num(items.filter((a) => a.state === "active").length);
    renderList(
      alarmsList,
      items,
      (a) =>
        el(
          "li",
          { class: `cc-item cc-alarm state-${a.state}`, "data-key": a.id },
          el(
            "div",
            { class: "cc-item__main" },
            el("span", { class: "cc-sev cc-sev--" + a.severity, text: t("cc.sev." + a.severity) }),
            el("button", { type: "button", class: "cc-link", "data-action": "detail", text: `${a.rule_name || a.rule_code || ""} · ${a.asset_ref || "#" + a.asset}` }),
            el(
              "span",
              { class: "cc-meta" },
              `${communeName(a.commune)} · ${when(a.raised_at)} · ${t("cc.alarm_state." + a.state)}${a.assignee ? " · " + t("cc.assigned_to", { user: a.assignee }) : ""}`
            )
          ),
          el(
            "div",
            { class: "cc-item__actions" },
            el("button", { type: "button", class: "button button--small", "data-action": "asset", text: t("cc.show_asset") }),
            can.acknowledge && a.state === "active"
              ? el("button", { type: "button", class: "button button--small button--primary", "data-action": "ack", text: t("cc.acknowledge") })
              : null
          )
        ),
      t("cc.alarms_none")
    );
  }, 300);

  if (alarmsAcked) alarmsAcked.addEventListener("change", loadAlarms);
  if (alarmsList) {
    alarmsList.addEventListener("click", async (e) => {
      const button = e.target.closest("button[data-action]");
      if (!button) return;
      const id = Number(button.closest("[data-key]").dataset.key);
      const alarm = alarms.get(id);
      if (button.dataset.action === "detail") openAlarm(id);
      else if (button.dataset.action === "asset" && alarm) openAsset(alarm.asset, button);
      else if (button.dataset.action === "ack") {
        button.disabled = true;
        try {
          const updated = await postJSON(`${api.alarms}/${id}/acknowledge`, {});
          alarms.set(id, updated);
          announce(t("cc.acknowledged", { rule: updated.rule_name }), true);
          renderAlarms();
          if (openAlarmId === id) openAlarm(id);
        } catch (error) {
          button.disabled = false;
          announce(errorText(error), true);
        }
      }
    });
  }

  let openAlarmId = null;
  async function openAlarm(id) {
    if (!alarmDetail) return;
    openAlarmId = id;
    alarmDetail.hidden = false;
    alarmDetail.replaceChildren(el("p", { class: "cc-muted", text: t("cc.loading") }));
    let alarm;
    try {
      alarm = await getJSON(`${api.alarms}/${id}`);
    } catch (error) {
      alarmDetail.replaceChildren(el("p", { class: "cc-outcome cc-outcome--error", text: errorText(error) }));
      return;
    }
    if (openAlarmId !== id) return;
    alarms.set(id, Object.assign(alarms.get(id) || {}, alarm));
    const result = el("p", { class: "cc-outcome", role: "status" });
    const heading = el("h4", { tabindex: "-1", text: t("cc.alarm_title", { id, rule: alarm.rule_name }) });
    const act = async (button, url, body, done) => {
      button.disabled = true;
      try {
        const answer = await postJSON(url, body);
        outcome(result, done, false);
        if (answer && answer.id === id && answer.state) alarms.set(id, answer);
        renderAlarms();
        setTimeout(() => openAlarm(id), 0);
      } catch (error) {
        outcome(result, errorText(error), true);
      } finally {
        button.disabled = false;
      }
    };
    const parts = [
      el(
        "div",
        { class: "cc-detail__head" },
        heading,
        el("button", { type: "button", class: "button button--small", text: t("cc.close"), onclick: () => {
          alarmDetail.hidden = true;
          openAlarmId = null;
          const back = alarmsList.querySelector(`[data-key="${id}"] [data-action="detail"]`);
          if (back) back.focus();
        } })
      ),
      facts([
        [t("cc.f.severity"), t("cc.sev." + alarm.severity)],
        [t("cc.f.state"), t("cc.alarm_state." + alarm.state)],
        [t("cc.f.asset"), el("button", { type: "button", class: "cc-link", text: alarm.asset_ref, onclick: (e) => openAsset(alarm.asset, e.currentTarget) })],
        [t("cc.f.commune"), communeName(alarm.commune)],
        [t("cc.f.message"), alarm.message],
        [t("cc.f.raised"), when(alarm.raised_at)],
        [t("cc.f.acknowledged"), alarm.acknowledged_at ? `${when(alarm.acknowledged_at)} · ${alarm.acknowledged_by || ""}` : ""],
        [t("cc.f.assignee"), alarm.assignee],
        [t("cc.f.escalation"), alarm.escalation_level ? String(alarm.escalation_level) : ""],
      ]),
    ];
    const comments = alarm.comments || [];
    if (comments.length) {
      parts.push(
        el("h5", { text: t("cc.comments") }),
        el("ol", { class: "cc-mini" }, ...comments.map((c) => el("li", {}, el("span", { class: "cc-meta", text: `${when(c.at || c.created_at)} · ${c.author || c.actor || ""}` }), " ", c.text)))
      );
    }
    const actions = el("div", { class: "cc-actions" });
    if (can.acknowledge && alarm.state === "active") {
      const ack = el("button", { type: "button", class: "button button--primary", text: t("cc.acknowledge") });
      ack.addEventListener("click", () => act(ack, `${api.alarms}/${id}/acknowledge`, {}, t("cc.acknowledged", { rule: alarm.rule_name })));
      actions.append(ack);
    }
    if (can.clear && alarm.state !== "cleared") {
      const clear = el("button", { type: "button", class: "button", text: t("cc.clear") });
      clear.addEventListener("click", () => {
        const note = commentBox ? commentBox.value.trim() : "";
        if (!note) {
          outcome(result, t("cc.clear_needs_comment"), true);
          if (commentBox) commentBox.focus();
          return;
        }
        act(clear, `${api.alarms}/${id}/clear`, { comment: note }, t("cc.cleared"));
      });
      actions.append(clear);
    }
    parts.push(actions);
    let commentBox = null;
    if (can.assign && alarm.state !== "cleared") {
      const who = el("input", { type: "text", id: "cc-assignee", value: alarm.assignee || cfg.user || "", autocomplete: "off" });
      const assign = el("button", { type: "button", class: "button", text: t("cc.assign") });
      assign.addEventListener("click", () =>
        act(assign, `${api.alarms}/${id}/assign`, { assignee: who.value.trim() || null }, t("cc.assigned", { user: who.value.trim() || "—" }))
      );
      parts.push(el("div", { class: "cc-field cc-field--row" }, el("label", { for: "cc-assignee", text: t("cc.assignee") }), who, assign));
    }
    if (can.comment) {
      commentBox = el("textarea", { id: "cc-comment", rows: 2, maxLength: 2000 });
      const send = el("button", { type: "button", class: "button", text: t("cc.comment_send") });
      send.addEventListener("click", () => {
        const text = commentBox.value.trim();
        if (!text) {
          commentBox.focus();
          return;
        }
        act(send, `${api.alarms}/${id}/comments`, { text }, t("cc.commented"));
      });
      parts.push(el("div", { class: "cc-field" }, el("label", { for: "cc-comment", text: t("cc.comment") }), commentBox, send));
    }
    parts.push(result);
    alarmDetail.replaceChildren(...parts);
    heading.focus();
  }

  // Events carry the alarm's fields under slightly different names: shape them like the API.
  function alarmFromEvent(e) {
    const before = alarms.get(e.alarm) || {};
    return Object.assign({}, before, {
      id: e.alarm,
      asset: e.asset,
      asset_ref: before.asset_ref || e.asset_ref || "",
      kind: e.kind,
      commune: e.commune,
      rule: e.rule_id,
      rule_code: e.rule_code,
      rule_name: e.rule_name || before.rule_name || e.rule_code,
      severity: e.severity || before.severity,
      message: e.message || before.message,
      raised_at: before.raised_at || e.at,
    });
  }

  // ---- Citizen reports ----------------------------------------------------------------------------

  let reports = [];
  const reportsList = $("cc-reports-list");
  async function loadReports() {
    if (!can.reports || !reportsList) return;
    try {
      const answer = await getJSON(query(api.reports, { state: "new,reopened", commune: filters.commune, limit: 50 }));
      reports = answer.items || [];
      const count = $("cc-reports-count");
      if (count) count.textContent = num(reports.length);
      renderList(
        reportsList,
        reports,
        (r) =>
          el(
            "li",
            { class: "cc-item", "data-key": r.id },
            el(
              "div",
              { class: "cc-item__main" },
              el("span", { class: "cc-pri", text: r.priority || "" }),
              el("strong", { text: t("cc.report_line", { id: r.id, category: r.category }) }),
              el("span", { class: "cc-meta", text: `${communeName(r.commune)} · ${when(r.requested_at)}${r.address ? " · " + r.address : ""}` }),
              r.description ? el("span", { class: "cc-desc", text: r.description.slice(0, 160) }) : null
            ),
            el(
              "div",
              { class: "cc-item__actions" },
              el("button", { type: "button", class: "button button--small", "data-action": "place", text: t("cc.show_place") }),
              can.reportCase ? el("button", { type: "button", class: "button button--small button--primary", "data-action": "case", text: t("cc.report_case") }) : null,
              can.triageReports ? el("button", { type: "button", class: "button button--small", "data-action": "triaged", text: t("cc.report_triaged") }) : null
            ),
            el("p", { class: "cc-outcome", role: "status" })
          ),
        t("cc.reports_none")
      );
    } catch (error) {
      renderList(reportsList, [], null, errorText(error));
    }
  }
  const reloadReports = throttle(loadReports, 1500);
  if (reportsList) {
    reportsList.addEventListener("click", async (e) => {
      const button = e.target.closest("button[data-action]");
      if (!button) return;
      const item = button.closest("[data-key]");
      const id = Number(item.dataset.key);
      const report = reports.find((r) => r.id === id);
      const result = item.querySelector(".cc-outcome");
      if (button.dataset.action === "place" && report) {
        assets.ring({ lon: report.lon, lat: report.lat });
        map.flyTo([report.lat, report.lon], Math.max(map.getZoom(), 17));
        return;
      }
      button.disabled = true;
      try {
        if (button.dataset.action === "case") {
          const c = await postJSON(`/api/v1/reports/${id}/case`, {});
          outcome(result, t("cc.report_case_done", { id: c.id }), false);
          reloadCases();
        } else if (button.dataset.action === "triaged") {
          await postJSON(`/api/v1/reports/${id}/state`, { state: "triaged" });
          outcome(result, t("cc.report_triaged_done"), false);
          setTimeout(reloadReports, 1500);
        }
      } catch (error) {
        outcome(result, errorText(error), true);
      } finally {
        button.disabled = false;
      }
    });
  }

  // ---- Cases and work orders ------------------------------------------------------------------------

  let cases = [];
  let orders = [];
  const casesList = $("cc-cases-list");
  const ordersList = $("cc-orders-list");
  const caseCommune = new Map();

  async function loadCases() {
    if (!can.cases || !casesList) return;
    try {
      const answer = await getJSON(query(api.cases, { state: LIVE_CASE_STATES, commune: filters.commune, limit: 100 }));
      cases = answer.items || [];
      for (const c of cases) caseCommune.set(c.id, c.commune);
      renderList(
        casesList,
        cases,
        (c) =>
          el(
            "li",
            { class: `cc-item cc-case state-${c.state}`, "data-key": c.id },
            el(
              "div",
              { class: "cc-item__main" },
              el("span", { class: "cc-pri", text: c.priority }),
              el("button", { type: "button", class: "cc-link", "data-action": "open", text: t("cc.case_line", { id: c.id, title: c.title || c.category }) }),
              el(
                "span",
                { class: "cc-meta" },
                `${t("cc.case_state." + c.state)} · ${communeName(c.commune)} · ${c.team ? c.team.code : t("cc.no_team")} · ${when(c.opened_at)}`
              )
            ),
            el(
              "div",
              { class: "cc-item__actions" },
              c.asset ? el("button", { type: "button", class: "button button--small", "data-action": "asset", text: t("cc.show_asset") }) : null
            )
          ),
        t("cc.cases_none")
      );
    } catch (error) {
      renderList(casesList, [], null, errorText(error));
    }
    if (can.workOrders) loadOrders();
  }
  const reloadCases = throttle(loadCases, 1500);

  async function loadOrders() {
    if (!ordersList) return;
    try {
      const answer = await getJSON(query(api.workOrders, { state: LIVE_ORDER_STATES, limit: 100 }));
      orders = (answer.items || []).filter((o) => !filters.commune || !caseCommune.has(o.case) || caseCommune.get(o.case) === filters.commune);
      const count = $("cc-work-count");
      if (count) count.textContent = num(cases.length + orders.length);
      renderList(
        ordersList,
        orders,
        (o) => {
          const clocks = [];
          if (o.response_due_at && (o.state === "created" || o.state === "dispatched"))
            clocks.push(el("span", { class: "cc-sla", "data-due": o.response_due_at, "data-label": t("cc.sla_response") }));
          if (o.resolution_due_at && o.state !== "done")
            clocks.push(el("span", { class: "cc-sla", "data-due": o.resolution_due_at, "data-label": t("cc.sla_resolution") }));
          return el(
            "li",
            { class: `cc-item cc-order state-${o.state}`, "data-key": o.id },
            el(
              "div",
              { class: "cc-item__main" },
              el("button", { type: "button", class: "cc-link", "data-action": "case", text: t("cc.order_title", { id: o.id, case: o.case }) }),
              el("span", { class: "cc-meta", text: `${t("cc.wo_state." + o.state)} · ${o.team ? o.team.organisation || o.team.code : ""}` }),
              ...clocks
            ),
            can.dispatch && o.state === "done"
              ? el("div", { class: "cc-item__actions" }, el("button", { type: "button", class: "button button--small", "data-action": "verify", text: t("cc.verify") }))
              : null,
            el("p", { class: "cc-outcome", role: "status" })
          );
        },
        t("cc.orders_none")
      );
      tickClocks();
    } catch (error) {
      renderList(ordersList, [], null, errorText(error));
    }
  }

  if (casesList) {
    casesList.addEventListener("click", (e) => {
      const button = e.target.closest("button[data-action]");
      if (!button) return;
      const id = Number(button.closest("[data-key]").dataset.key);
      const c = cases.find((x) => x.id === id);
      if (button.dataset.action === "open") openCase(id, button);
      else if (button.dataset.action === "asset" && c) openAsset(c.asset, button);
    });
  }
  if (ordersList) {
    ordersList.addEventListener("click", async (e) => {
      const button = e.target.closest("button[data-action]");
      if (!button) return;
      const item = button.closest("[data-key]");
      const order = orders.find((o) => o.id === Number(item.dataset.key));
      if (!order) return;
      if (button.dataset.action === "case") openCase(order.case, button);
      else if (button.dataset.action === "verify") {
        button.disabled = true;
        try {
          await postJSON(`${api.workOrders}/${order.id}/verify`, {});
          outcome(item.querySelector(".cc-outcome"), t("cc.verified"), false);
          reloadCases();
        } catch (error) {
          outcome(item.querySelector(".cc-outcome"), errorText(error), true);
        } finally {
          button.disabled = false;
        }
      }
    });
  }

  // The case's detail: its timeline, its work orders, and the dispatch form.
  let caseDetail = null;
  async function openCase(id, opener, said) {
    if (!can.cases) return;
    showTab("work");
    if (!caseDetail) {
      caseDetail = el("div", { class: "cc-detail", id: "cc-case-detail" });
      casesList.before(caseDetail);
    }
    caseDetail.hidden = false;
    caseDetail.replaceChildren(el("p", { class: "cc-muted", text: t("cc.loading") }));
    let c;
    let timeline = { entries: [] };
    let caseOrders = [];
    try {
      c = await getJSON(`${api.cases}/${id}`);
      timeline = await getJSON(`${api.cases}/${id}/timeline`).catch(() => ({ entries: [] }));
      if (can.workOrders) caseOrders = (await getJSON(query(api.workOrders, { case: id, limit: 10 }))).items || [];
    } catch (error) {
      caseDetail.replaceChildren(el("p", { class: "cc-outcome cc-outcome--error", text: errorText(error) }));
      return;
    }
    const heading = el("h4", { tabindex: "-1", text: t("cc.case_line", { id: c.id, title: c.title || c.category }) });
    const result = el("p", { class: "cc-outcome", role: "status", text: said || "" });
    const parts = [
      el(
        "div",
        { class: "cc-detail__head" },
        heading,
        el("button", { type: "button", class: "button button--small", text: t("cc.close"), onclick: () => {
          caseDetail.hidden = true;
          if (opener && document.contains(opener)) opener.focus();
        } })
      ),
      facts([
        [t("cc.f.state"), t("cc.case_state." + c.state)],
        [t("cc.f.priority"), c.priority],
        [t("cc.f.category"), c.category],
        [t("cc.f.commune"), communeName(c.commune)],
        [t("cc.f.team"), c.team ? `${c.team.code} (${c.team.organisation || ""})` : t("cc.no_team")],
        [t("cc.f.opened"), when(c.opened_at)],
        [t("cc.f.description"), c.description],
      ]),
    ];
    if (caseOrders.length) {
      parts.push(
        el("h5", { text: t("cc.work_orders") }),
        el(
          "ul",
          { class: "cc-mini" },
          ...caseOrders.map((o) =>
            el(
              "li",
              {},
              t("cc.order_line", { id: o.id, state: t("cc.wo_state." + o.state) }),
              " ",
              o.resolution_due_at && !["done", "verified", "closed", "cancelled"].includes(o.state)
                ? el("span", { class: "cc-sla", "data-due": o.resolution_due_at, "data-label": t("cc.sla_resolution") })
                : null
            )
          )
        )
      );
    }
    const liveOrder = caseOrders.some((o) => !["refused", "verified", "closed", "cancelled"].includes(o.state));
    if (can.dispatch && !liveOrder && ["open", "triaged", "reopened"].includes(c.state)) {
      // A case waiting for triage is triaged first (same category: no new routing), then sent.
      const untriaged = c.state !== "triaged";
      const priority = el("select", { id: "cc-dispatch-priority" });
      for (const p of ["P1", "P2", "P3", "P4"]) priority.append(el("option", { value: p, text: p, selected: p === c.priority }));
      const instructions = el("textarea", { id: "cc-dispatch-instructions", rows: 2, maxLength: 4000 });
      const send = el("button", {
        type: "button",
        class: "button button--primary",
        "data-action": "dispatch",
        text: untriaged ? t("cc.triage_dispatch") : t("cc.dispatch"),
      });
      send.addEventListener("click", async () => {
        send.disabled = true;
        try {
          if (untriaged || priority.value !== c.priority) {
            await postJSON(`${api.cases}/${id}/triage`, { category: c.category, priority: priority.value, reason: t("cc.triage_reason") });
          }
          const order = await postJSON(`${api.cases}/${id}/dispatch`, { instructions: instructions.value.trim() });
          outcome(result, t("cc.dispatched", { id: order.id }), false);
          reloadCases();
          setTimeout(() => openCase(id, opener, t("cc.dispatched", { id: order.id })), 300);
        } catch (error) {
          outcome(result, errorText(error), true);
          send.disabled = false;
        }
      });
      parts.push(
        el(
          "div",
          { class: "cc-field cc-field--row" },
          el("label", { for: "cc-dispatch-priority", text: t("cc.f.priority") }),
          priority
        ),
        el(
          "div",
          { class: "cc-field" },
          el("label", { for: "cc-dispatch-instructions", text: t("cc.instructions") }),
          instructions,
          send
        )
      );
    }
    const entries = (timeline.entries || []).slice(-10);
    if (entries.length) {
      parts.push(
        el("h5", { text: t("cc.timeline") }),
        el("ol", { class: "cc-mini" }, ...entries.map((e) => el("li", {}, el("span", { class: "cc-meta", text: when(e.at) }), ` ${e.what}${e.actor ? " · " + e.actor : ""}${e.note ? " · " + e.note : ""}`)))
      );
    }
    parts.push(result);
    caseDetail.replaceChildren(...parts);
    tickClocks();
    heading.focus();
  }

  // The SLA clocks tick every second (only the visible ones are written).
  function tickClocks() {
    const now = Date.now();
    for (const node of document.querySelectorAll(".cc-sla[data-due]")) {
      if (!node.offsetParent) continue;
      const left = Date.parse(node.dataset.due) - now;
      node.textContent = `${node.dataset.label} ${countdown(left)}`;
      node.classList.toggle("cc-sla--late", left < 0);
      node.classList.toggle("cc-sla--soon", left >= 0 && left < 30 * 60 * 1000);
    }
  }
  setInterval(tickClocks, 1000);

  // ---- Fleet --------------------------------------------------------------------------------------

  const fleetList = $("cc-fleet-list");
  let fleet = [];
  async function loadFleet() {
    if (!can.fleet || !fleetList || !territory) return;
    try {
      const answer = await getJSON(query(api.mapAssets, { bbox: bboxParam(territory.pad(0.2)), zoom: 18, kind: "vehicle", commune: filters.commune }));
      const p = answer.points || {};
      fleet = (p.id || []).map((id, i) => ({ id, ref: p.ref[i], status: p.status[i], lon: p.lon[i], lat: p.lat[i] }));
      fleet.sort((a, b) => (a.ref < b.ref ? -1 : 1));
      const count = $("cc-fleet-count");
      if (count) count.textContent = num(fleet.length);
      renderList(
        fleetList,
        fleet,
        (v) =>
          el(
            "li",
            { class: "cc-item", "data-key": v.id },
            el(
              "div",
              { class: "cc-item__main" },
              el("button", { type: "button", class: "cc-link", "data-action": "open", text: v.ref }),
              statusBadge(v.status),
              el("span", { class: "cc-meta", text: `${v.lat.toFixed(4)}, ${v.lon.toFixed(4)}` })
            )
          ),
        t("cc.fleet_none")
      );
    } catch (error) {
      renderList(fleetList, [], null, errorText(error));
    }
  }
  if (fleetList) {
    fleetList.addEventListener("click", (e) => {
      const button = e.target.closest("button[data-action='open']");
      if (!button) return;
      const v = fleet.find((x) => x.id === Number(button.closest("[data-key]").dataset.key));
      if (!v) return;
      if (!filters.kinds.has("vehicle")) setKind("vehicle", true);
      map.flyTo([v.lat, v.lon], Math.max(map.getZoom(), 16));
      openAsset(v.id, button);
    });
  }

  // ---- KPIs ---------------------------------------------------------------------------------------

  const kpiBox = $("cc-kpis");
  async function kpiBlock(commune) {
    const title = commune ? t("cc.kpi_for", { name: communeName(commune) }) : cfg.scoped ? t("cc.kpi_scope") : t("cc.kpi_metropolis");
    const block = el("section", { class: "cc-kpi" }, el("h4", { text: title }));
    const [summary, alarmSummary, kpis] = await Promise.all([
      getJSON(query(api.summary, { commune })).catch(() => null),
      can.alarms ? getJSON(query(`${api.alarms}/summary`, { commune })).catch(() => null) : null,
      getJSON(query(api.kpis, { commune })).catch(() => null),
    ]);
    if (summary) {
      const byStatus = summary.by_status || {};
      const total = Object.values(byStatus).reduce((a, b) => a + b, 0);
      const attention = (byStatus.fault || 0) + (byStatus.offline || 0);
      const availability = total ? ((100 * (total - attention)) / total).toFixed(1) : "—";
      block.append(
        facts([
          [t("cc.kpi_equipment"), num(total)],
          [t("cc.kpi_attention"), num(attention)],
          [t("cc.kpi_working"), availability + " %"],
        ])
      );
    }
    if (alarmSummary && alarmSummary.open_by_severity) {
      block.append(
        el("h5", { text: t("cc.kpi_open_alarms") }),
        facts(Object.entries(alarmSummary.open_by_severity).map(([s, n]) => [t("cc.sev." + s), num(n)]))
      );
    }
    if (kpis && kpis.lots) {
      const table = el(
        "table",
        { class: "cc-table" },
        el("caption", { text: t("cc.kpi_contract", { period: kpis.period || "" }) }),
        el("thead", {}, el("tr", {}, ...["cc.kpi_lot", "cc.kpi_name", "cc.kpi_value", "cc.kpi_target", "cc.kpi_met"].map((k) => el("th", { scope: "col", text: t(k) }))))
      );
      const body = el("tbody");
      for (const lot of kpis.lots) {
        for (const k of lot.kpis || []) {
          body.append(
            el(
              "tr",
              {},
              el("td", { text: lot.lot }),
              el("th", { scope: "row", text: k.name }),
              el("td", { class: "num", text: k.value === null ? "—" : `${num(k.value)} ${k.unit || ""}` }),
              el("td", { class: "num", text: `${num(k.target)} ${k.unit || ""}` }),
              el("td", { class: k.met === false ? "cc-bad" : "", text: k.met === null ? t("cc.kpi_unmeasured") : k.met ? t("cc.kpi_yes") : t("cc.kpi_no") })
            )
          );
        }
      }
      table.append(body);
      block.append(table);
    }
    return block;
  }

  // The table per commune is on the page from the start (rendered by the server): fill it in.
  const communeTableBox = $("cc-commune-table");
  if (communeTableBox) {
    communeTableBox.addEventListener("click", (e) => {
      const button = e.target.closest("button[data-commune]");
      if (!button) return;
      if (communeSelect) communeSelect.value = button.dataset.commune;
      applyCommune(button.dataset.commune);
    });
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

  async function loadKpis() {
    if (!kpiBox || !can.kpis) return;
    const blocks = [await kpiBlock("")];
    if (filters.commune) blocks.push(await kpiBlock(filters.commune));
    kpiBox.replaceChildren(...blocks);
    await fillCommuneTable();
  }
  const reloadKpis = throttle(loadKpis, 10000);

  // ---- Tabs ---------------------------------------------------------------------------------------

  const tabs = Array.from(document.querySelectorAll(".cc-tabs [role='tab']"));
  function showTab(key, focus) {
    for (const tab of tabs) {
      const on = tab.dataset.tab === key;
      tab.setAttribute("aria-selected", on ? "true" : "false");
      tab.tabIndex = on ? 0 : -1;
      const panel = $(tab.getAttribute("aria-controls"));
      if (panel) panel.hidden = !on;
      if (on && focus) tab.focus();
    }
    if (key === "fleet") loadFleet();
    if (key === "kpis") reloadKpis();
    tickClocks();
  }
  for (const tab of tabs) {
    tab.addEventListener("click", () => showTab(tab.dataset.tab));
    tab.addEventListener("keydown", (e) => {
      const i = tabs.indexOf(tab);
      let next = null;
      if (e.key === "ArrowRight") next = tabs[(i + 1) % tabs.length];
      else if (e.key === "ArrowLeft") next = tabs[(i - 1 + tabs.length) % tabs.length];
      else if (e.key === "Home") next = tabs[0];
      else if (e.key === "End") next = tabs[tabs.length - 1];
      if (next) {
        e.preventDefault();
        showTab(next.dataset.tab, true);
      }
    });
  }

  // ---- Search by reference ------------------------------------------------------------------------

  const searchForm = $("cc-filters");
  const searchInput = $("cc-search");
  const searchResults = $("cc-search-results");
  let searchAbort = null;
  let searchTimer = null;
  let lastResults = [];

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
    renderList(
      searchResults,
      lastResults,
      (a) =>
        el(
          "li",
          { "data-key": a.id },
          el("button", { type: "button", class: "cc-link", "data-action": "open" }, `${a.ref} · ${kindLabel(a.kind)} · `, statusBadge(a.status))
        ),
      t("cc.search_none")
    );
    searchResults.hidden = false;
    return lastResults;
  }

  function goTo(a, opener) {
    searchResults.hidden = true;
    if (!filters.kinds.has(a.kind)) setKind(a.kind, true);
    if (filters.commune && a.commune !== filters.commune && communeSelect) {
      communeSelect.value = "";
      applyCommune("");
    }
    map.flyTo([a.lat, a.lon], 18, { duration: 0.6 });
    openAsset(a.id, opener || searchInput);
  }

  if (searchInput) {
    searchInput.addEventListener("input", () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => search(searchInput.value), 200);
    });
    searchInput.addEventListener("keydown", (e) => {
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
    });
    searchResults.addEventListener("click", (e) => {
      const button = e.target.closest("button[data-action='open']");
      if (!button) return;
      const a = lastResults.find((x) => x.id === Number(button.closest("[data-key]").dataset.key));
      if (a) goTo(a, searchInput);
    });
    searchResults.addEventListener("keydown", (e) => {
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
    });
  }
  if (searchForm) {
    searchForm.addEventListener("submit", async (e) => {
      e.preventDefault();
      const q = searchInput.value.trim();
      if (!q) return;
      clearTimeout(searchTimer);
      const found = await search(q);
      const exact = found.find((a) => a.ref.toUpperCase() === q.toUpperCase());
      if (exact || found.length === 1) goTo(exact || found[0], searchInput);
      else if (found.length) searchResults.querySelector("button").focus();
    });
  }

  // ---- Filters: commune and kinds ----------------------------------------------------------------

  function applyCommune(insee) {
    filters.commune = insee;
    restyleCommunes();
    fitToFilter(true);
    loadCounts();
    loadAlarms();
    loadReports();
    loadCases();
    if (!$("cc-tabpanel-fleet") || !$("cc-tabpanel-fleet").hidden) loadFleet();
    loadKpis();
  }
  if (communeSelect) communeSelect.addEventListener("change", () => applyCommune(communeSelect.value));

  function setKind(kind, on) {
    const box = $("cc-layer-" + kind);
    if (box) box.checked = on;
    if (on) filters.kinds.add(kind);
    else filters.kinds.delete(kind);
    scheduleAssets();
    loadCounts();
    renderAlarms();
  }
  for (const box of document.querySelectorAll(".cc-layers input[name='kind']")) {
    box.addEventListener("change", () => {
      setKind(box.value, box.checked);
      reloadAlarms();
    });
  }

  // ---- Keyboard -----------------------------------------------------------------------------------

  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && selected && !e.defaultPrevented) {
      e.preventDefault();
      closeAsset();
    }
  });

  // ---- The live stream: queued, applied once per animation frame ---------------------------------

  const queue = [];
  let frameRequested = false;
  const reloadAssetsSoon = throttle(loadAssets, 5000);
  const FRAME_BUDGET = 4000;

  function enqueue(type, event) {
    let data;
    try {
      data = JSON.parse(event.data);
    } catch (e) {
      return;
    }
    queue.push([type, data]);
    perf.queued++;
    if (!frameRequested) {
      frameRequested = true;
      requestAnimationFrame(applyQueue);
    }
  }

  function applyQueue() {
    frameRequested = false;
    perf.frames++;
    const batch = queue.splice(0, FRAME_BUDGET);
    let redraw = false;
    let alarmsChanged = false;
    let clustered = false;
    for (const [type, e] of batch) {
      if (type === "asset.status") {
        if (assets.setStatus(e.asset, e.status)) redraw = true;
        else if (assets.mode === "clusters") clustered = true;
        const counted = (!filters.commune || e.commune === filters.commune) && filters.kinds.has(e.kind);
        if (counted && e.previous_status) {
          statusCounts[e.previous_status] = Math.max(0, (statusCounts[e.previous_status] || 0) - 1);
          statusCounts[e.status] = (statusCounts[e.status] || 0) + 1;
        }
        if (selected && selected.id === e.asset && assetStatus) {
          assetStatus.textContent = t("cc.asset_now", { status: statusLabel(e.status) });
        }
      } else if (type.startsWith("alarm.")) {
        alarmsChanged = true;
        if (type === "alarm.cleared") {
          alarms.delete(e.alarm);
        } else {
          const a = alarmFromEvent(e);
          if (type === "alarm.raised") {
            a.state = "active";
            a.raised_at = e.at;
            if (alarmVisible(a)) announce(t("cc.new_alarm", { rule: a.rule_name || "", commune: communeName(a.commune) }));
          } else if (type === "alarm.acknowledged") a.state = "acknowledged";
          else if (type === "alarm.escalated") a.escalation_level = e.level || a.escalation_level;
          if (!a.state) a.state = "active";
          alarms.set(a.id, a);
        }
      } else if (type === "report.submitted") {
        if (can.reports && (!filters.commune || e.commune === filters.commune)) {
          reloadReports();
          announce(t("cc.new_report", { category: e.category || "", commune: communeName(e.commune) }));
        }
      } else if (type.startsWith("case.") || type.startsWith("work_order.")) {
        reloadCases();
      }
    }
    perf.liveUpdates += batch.length;
    if (redraw) {
      assets.redraw();
      perf.mapDraws++;
      renderInView();
    }
    if (clustered) reloadAssetsSoon();
    if (alarmsChanged) {
      renderAlarms();
      reloadAlarms(); // the events lack a few fields (the asset's reference): fill them in soon
    }
    if (batch.length) renderCountsSoon();
    mapBox.dataset.liveUpdates = String(perf.liveUpdates);
    document.documentElement.dataset.liveUpdates = String(perf.liveUpdates);
    if (queue.length && !frameRequested) {
      frameRequested = true;
      requestAnimationFrame(applyQueue);
    }
  }

  // For benchmarks and tests: an event as the stream would deliver it, through the same queue.
  perf.inject = (type, data) => enqueue(type, { data: JSON.stringify(data) });
  perf.map = map;
  perf.layer = assets;

  const STREAM_TYPES = [
    "asset.status",
    "alarm.raised",
    "alarm.acknowledged",
    "alarm.cleared",
    "alarm.escalated",
    "case.opened",
    "case.routed",
    "case.triaged",
    "case.changed",
    "case.resolved",
    "case.closed",
    "work_order.sla",
    "work_order.changed",
    "report.submitted",
  ];
  let stream = null;
  function follow() {
    if (!can.stream || !window.EventSource) return;
    stream = new EventSource(api.stream);
    for (const type of STREAM_TYPES) stream.addEventListener(type, (event) => enqueue(type, event));
    stream.addEventListener("stream.gap", () => reloadEverything());
    stream.addEventListener("open", () => {
      mapBox.dataset.stream = "open";
    });
    stream.onerror = () => {
      mapBox.dataset.stream = stream.readyState === EventSource.CLOSED ? "closed" : "reconnecting";
      if (stream.readyState === EventSource.CLOSED) {
        setTimeout(() => reloadEverything().then(follow), 5000);
      }
    };
  }

  async function reloadEverything() {
    await Promise.allSettled([loadAssets(), loadCounts(), loadAlarms(), loadReports(), loadCases()]);
  }

  // ---- Start --------------------------------------------------------------------------------------

  async function start() {
    follow(); // first: nothing that happens while the page loads is missed
    try {
      await loadCommunes();
    } catch (error) {
      if (mapStatus) mapStatus.textContent = errorText(error);
    }
    clearTimeout(assetsTimer); // the fit's moveend: this first load does it
    await Promise.allSettled([loadMainStreets(), loadAssets()]);
    perf.mapReady = true;
    perf.readyAt = performance.now();
    mapBox.dataset.mapReady = "1";
    document.documentElement.dataset.mapReady = "1";
    loadLocalStreets();
    loadCounts();
    loadAlarms();
    loadReports();
    loadCases();
    loadKpis();
    const first = tabs.find((tab) => tab.getAttribute("aria-selected") === "true");
    if (first) showTab(first.dataset.tab);
    // Deadlines of business-hours SLA clocks move while paused: resynchronise every minute.
    setInterval(reloadCases, 60000);
    setInterval(() => {
      const panel = $("cc-tabpanel-fleet");
      if (panel && !panel.hidden) loadFleet();
    }, 20000);
  }
  start();
})();
