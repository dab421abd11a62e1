/* Metropilot citizens' report pages: the form at /report and the public map at /reports/map.
 *
 * No library, no external resource (deployments are offline), no inline script (strict CSP):
 * the page passes its URLs and translated messages in a JSON data island, #report-config.
 * Everything here improves a page that already works without it:
 *  - the map: the communes drawn as SVG from the public API, zoom and pan (buttons, wheel, drag,
 *    pinch, keyboard). On the form, a tap places the marker and fills the latitude and
 *    longitude fields; "use my location" does the same from the phone's position. On the public
 *    map, the open reports are dots: a tap or the arrow keys tell what each one is;
 *  - the form: only the chosen category's questions, a character counter, photo previews, and
 *    large photos shrunk on the phone before they are sent (which also drops their EXIF).
 */
(function () {
  "use strict";

  const configNode = document.getElementById("report-config");
  if (!configNode) {
    return;
  }
  let config = {};
  try {
    config = JSON.parse(configNode.textContent || "{}");
  } catch (error) {
    config = {};
  }
  const messages = config.messages || {};
  const lang = document.documentElement.lang || "en";
  const EARTH_M_PER_DEGREE = 111320;
  const SHRINK_ABOVE_BYTES = 1500000;
  const SHRINK_LONGEST_SIDE = 2048;

  function t(key, values) {
    const template = Object.prototype.hasOwnProperty.call(messages, key) ? messages[key] : key;
    return template.replace(/\{(\w+)\}/g, function (match, name) {
      return values && Object.prototype.hasOwnProperty.call(values, name)
        ? String(values[name])
        : match;
    });
  }

  function decimal(value, digits) {
    return new Intl.NumberFormat(lang, {
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    }).format(value);
  }

  function parseNumber(text) {
    const cleaned = String(text || "")
      .trim()
      .replace(",", ".")
      .replace("\u2212", "-");
    if (!cleaned) {
      return NaN;
    }
    return Number(cleaned);
  }

  /* ---- The form ------------------------------------------------------------------------- */

  function initCategory() {
    const select = document.getElementById("report-category");
    if (!select) {
      return;
    }
    const sets = Array.from(document.querySelectorAll("[data-question-set]"));
    const container = document.getElementById("report-questions");
    const hint = document.getElementById("questions-hint");
    const description = document.getElementById("category-description");
    const descriptions = config.descriptions || {};
    if (hint) {
      hint.hidden = true;
    }

    function update() {
      let shown = false;
      for (const set of sets) {
        const on = set.dataset.questionSet === select.value;
        shown = shown || on;
        set.hidden = !on;
        for (const input of set.querySelectorAll("input, select, textarea")) {
          input.disabled = !on;
          if (input.dataset.required === "true") {
            input.required = on;
          }
        }
      }
      if (container) {
        container.hidden = !shown;
      }
      if (description) {
        description.textContent = descriptions[select.value] || "";
      }
    }

    select.addEventListener("change", update);
    update();
  }

  function initCounter() {
    const area = document.getElementById("report-description");
    const counter = document.getElementById("description-count");
    if (!area || !counter) {
      return;
    }
    const max = Number(area.getAttribute("maxlength")) || config.maxDescription || 4000;

    function update() {
      const count = area.value.length;
      counter.textContent = t("rmap.chars", { count: count, max: max });
      counter.classList.toggle("is-near", count > max * 0.9);
    }

    area.addEventListener("input", update);
    update();
  }

  function keepFiles(input, files) {
    if (typeof DataTransfer === "undefined") {
      return false;
    }
    try {
      const transfer = new DataTransfer();
      for (const file of files) {
        transfer.items.add(file);
      }
      input.files = transfer.files;
      return true;
    } catch (error) {
      return false;
    }
  }

  function initPhotos() {
    const input = document.getElementById("report-photos");
    const form = document.getElementById("report-form");
    if (!input || !form) {
      return;
    }
    const max = Number(input.dataset.max) || config.maxPhotos || 5;
    const status = document.getElementById("photos-status");
    const previews = document.getElementById("photo-previews");
    const submit = document.getElementById("report-submit");
    let urls = [];

    function showPreviews() {
      for (const url of urls) {
        URL.revokeObjectURL(url);
      }
      urls = [];
      if (!previews) {
        return;
      }
      previews.replaceChildren();
      for (const file of Array.from(input.files || [])) {
        if (!/^image\//.test(file.type)) {
          continue;
        }
        const url = URL.createObjectURL(file);
        urls.push(url);
        const item = document.createElement("li");
        const image = document.createElement("img");
        image.src = url;
        image.alt = "";
        item.append(image);
        previews.append(item);
      }
    }

    input.addEventListener("change", function () {
      const files = Array.from(input.files || []);
      if (status) {
        status.textContent = "";
      }
      if (files.length > max) {
        keepFiles(input, files.slice(0, max));
        if (status) {
          status.textContent = t("rmap.too_many_photos", { max: max });
        }
      }
      showPreviews();
    });

    async function shrink(file) {
      const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
      const scale = Math.min(1, SHRINK_LONGEST_SIDE / Math.max(bitmap.width, bitmap.height));
      const canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(bitmap.width * scale));
      canvas.height = Math.max(1, Math.round(bitmap.height * scale));
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      if (bitmap.close) {
        bitmap.close();
      }
      const blob = await new Promise(function (resolve) {
        canvas.toBlob(resolve, "image/jpeg", 0.85);
      });
      if (!blob || blob.size >= file.size) {
        return file;
      }
      const name = (file.name || "photo").replace(/\.[^.]*$/, "") + ".jpg";
      return new File([blob], name, { type: "image/jpeg" });
    }

    form.addEventListener("submit", function (event) {
      if (form.dataset.ready === "true") {
        // Sent for good: a second tap must not send the report twice.
        window.setTimeout(function () {
          if (submit) {
            submit.disabled = true;
          }
        }, 0);
        return;
      }
      const files = Array.from(input.files || []);
      const large = files.filter(function (file) {
        return file.size > SHRINK_ABOVE_BYTES && /^image\/(jpeg|png|webp)$/.test(file.type);
      });
      if (!large.length || typeof DataTransfer === "undefined" || !window.createImageBitmap) {
        form.dataset.ready = "true";
        return;
      }
      event.preventDefault();
      if (submit) {
        submit.disabled = true;
      }
      if (status) {
        status.textContent = t("rmap.preparing");
      }
      Promise.all(
        files.map(function (file) {
          return large.includes(file)
            ? shrink(file).catch(function () {
                return file;
              })
            : Promise.resolve(file);
        })
      )
        .then(function (ready) {
          keepFiles(input, ready);
        })
        .catch(function () {
          /* send the photos as they are */
        })
        .finally(function () {
          form.dataset.ready = "true";
          if (submit) {
            submit.disabled = false;
          }
          if (form.requestSubmit) {
            form.requestSubmit(submit || undefined);
          } else {
            form.submit();
          }
        });
    });
  }

  function focusErrors() {
    const errors = document.getElementById("report-errors");
    if (errors) {
      errors.focus();
    }
  }

  /* ---- The map -------------------------------------------------------------------------- */

  function ringsOf(geometry) {
    if (!geometry) {
      return [];
    }
    if (geometry.type === "Polygon") {
      return geometry.coordinates;
    }
    if (geometry.type === "MultiPolygon") {
      return geometry.coordinates.flat();
    }
    return [];
  }

  // Even-odd rule over every ring: holes count out, as the SVG paths draw them.
  function insideRings(rings, lon, lat) {
    let inside = false;
    for (const ring of rings) {
      for (let i = 0, j = ring.length - 1; i < ring.length; j = i, i += 1) {
        const xi = ring[i][0];
        const yi = ring[i][1];
        const xj = ring[j][0];
        const yj = ring[j][1];
        if (yi > lat !== yj > lat && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) {
          inside = !inside;
        }
      }
    }
    return inside;
  }

  function initMap() {
    const root = document.getElementById("rmap");
    if (!root || !window.fetch || !config.communesUrl) {
      return;
    }
    const mode = root.dataset.mode === "show" ? "show" : "pick";
    const svg = root.querySelector(".rmap__svg");
    const SVG_NS = svg.namespaceURI;
    const statusLine = document.getElementById("rmap-status");
    const detail = document.getElementById("rmap-detail");
    const latInput = document.getElementById("report-lat");
    const lonInput = document.getElementById("report-lon");
    const coords = document.getElementById("report-coords");
    const locate = document.getElementById("use-location");
    root.hidden = false;

    const layers = {};
    for (const name of ["communes", "labels", "points", "accuracy", "marker"]) {
      layers[name] = document.createElementNS(SVG_NS, "g");
      svg.append(layers[name]);
    }

    const state = {
      communes: [], // {name, rings, path, label, cx, cy, area}
      origin: null, // {lon, lat, k}
      full: null, // the whole territory: {x, y, w, h}
      view: null,
      points: [], // {data, x, y, node}
      selected: -1,
      marker: null, // {lon, lat}
      markerNode: null,
      accuracyNode: null,
      pointers: new Map(),
      gesture: null,
    };

    function setStatus(text, isError) {
      if (statusLine) {
        statusLine.textContent = text;
        statusLine.classList.toggle("is-error", Boolean(isError));
      }
    }

    // Metres east and south of the territory's north-west corner (equirectangular).
    function project(lon, lat) {
      const o = state.origin;
      return [
        (lon - o.lon) * o.k * EARTH_M_PER_DEGREE,
        (o.lat - lat) * EARTH_M_PER_DEGREE,
      ];
    }

    function unproject(x, y) {
      const o = state.origin;
      return [o.lon + x / (o.k * EARTH_M_PER_DEGREE), o.lat - y / EARTH_M_PER_DEGREE];
    }

    function unitsPerPixel() {
      const width = svg.clientWidth || 1;
      const height = svg.clientHeight || 1;
      const v = state.view;
      return Math.max(v.w / width, v.h / height);
    }

    function toSvg(clientX, clientY) {
      const matrix = svg.getScreenCTM();
      if (!matrix) {
        return null;
      }
      const point = new DOMPoint(clientX, clientY).matrixTransform(matrix.inverse());
      return [point.x, point.y];
    }

    function setView(x, y, w, h) {
      const full = state.full;
      const minW = 150;
      const maxW = full.w * 1.5;
      const ratio = h / w;
      let width = Math.min(Math.max(w, minW), maxW);
      let height = width * ratio;
      const cx = Math.min(Math.max(x + w / 2, full.x), full.x + full.w);
      const cy = Math.min(Math.max(y + h / 2, full.y), full.y + full.h);
      state.view = { x: cx - width / 2, y: cy - height / 2, w: width, h: height };
      const v = state.view;
      svg.setAttribute("viewBox", [v.x, v.y, v.w, v.h].map((n) => n.toFixed(2)).join(" "));
      restyle();
    }

    function zoomAt(factor, cx, cy) {
      const v = state.view;
      const w = v.w / factor;
      const h = v.h / factor;
      setView(cx - ((cx - v.x) / v.w) * w, cy - ((cy - v.y) / v.h) * h, w, h);
    }

    function zoomCentre() {
      const v = state.view;
      if (state.marker) {
        const p = project(state.marker.lon, state.marker.lat);
        return p;
      }
      return [v.x + v.w / 2, v.y + v.h / 2];
    }

    // Sizes on screen stay the same whatever the zoom: radii and fonts follow the scale.
    function restyle() {
      const unit = unitsPerPixel();
      for (const point of state.points) {
        point.node.setAttribute("r", (point.index === state.selected ? 9 : 6) * unit);
      }
      if (state.markerNode) {
        state.markerNode.setAttribute("r", 10 * unit);
      }
      const fontSize = 12 * unit;
      const showLabels = state.view.w < state.full.w * 0.8 || (svg.clientWidth || 0) > 700;
      for (const commune of state.communes) {
        if (!commune.label) {
          continue;
        }
        commune.label.setAttribute("font-size", fontSize.toFixed(2));
        commune.label.setAttribute("stroke-width", (3 * unit).toFixed(2));
        commune.label.setAttribute(
          "visibility",
          showLabels && commune.area / (unit * unit) > 9000 ? "visible" : "hidden"
        );
      }
    }

    function drawCommunes(collection) {
      const features = (collection && collection.features) || [];
      let minLon = Infinity;
      let minLat = Infinity;
      let maxLon = -Infinity;
      let maxLat = -Infinity;
      const communes = [];
      for (const feature of features) {
        const rings = ringsOf(feature.geometry);
        if (!rings.length) {
          continue;
        }
        for (const ring of rings) {
          for (const point of ring) {
            minLon = Math.min(minLon, point[0]);
            maxLon = Math.max(maxLon, point[0]);
            minLat = Math.min(minLat, point[1]);
            maxLat = Math.max(maxLat, point[1]);
          }
        }
        const properties = feature.properties || {};
        communes.push({ name: String(properties.name || ""), rings: rings });
      }
      if (!communes.length) {
        return false;
      }
      state.origin = {
        lon: minLon,
        lat: maxLat,
        k: Math.cos((((minLat + maxLat) / 2) * Math.PI) / 180),
      };
      const corner = project(maxLon, minLat);
      const pad = Math.max(corner[0], corner[1]) * 0.03;
      state.full = { x: -pad, y: -pad, w: corner[0] + 2 * pad, h: corner[1] + 2 * pad };
      for (const commune of communes) {
        const parts = [];
        let sx = 0;
        let sy = 0;
        let n = 0;
        let bx0 = Infinity;
        let by0 = Infinity;
        let bx1 = -Infinity;
        let by1 = -Infinity;
        for (const ring of commune.rings) {
          ring.forEach(function (point, i) {
            const p = project(point[0], point[1]);
            parts.push((i === 0 ? "M" : "L") + p[0].toFixed(1) + " " + p[1].toFixed(1));
            sx += p[0];
            sy += p[1];
            n += 1;
            bx0 = Math.min(bx0, p[0]);
            by0 = Math.min(by0, p[1]);
            bx1 = Math.max(bx1, p[0]);
            by1 = Math.max(by1, p[1]);
          });
          parts.push("Z");
        }
        const path = document.createElementNS(SVG_NS, "path");
        path.setAttribute("d", parts.join(""));
        path.setAttribute("class", "rmap__commune");
        const title = document.createElementNS(SVG_NS, "title");
        title.textContent = commune.name;
        path.append(title);
        layers.communes.append(path);
        commune.area = (bx1 - bx0) * (by1 - by0);
        if (commune.name && n) {
          const label = document.createElementNS(SVG_NS, "text");
          label.setAttribute("x", (sx / n).toFixed(1));
          label.setAttribute("y", (sy / n).toFixed(1));
          label.setAttribute("class", "rmap__label");
          label.setAttribute("aria-hidden", "true");
          label.textContent = commune.name;
          layers.labels.append(label);
          commune.label = label;
        }
      }
      state.communes = communes;
      const f = state.full;
      // The frame's shape, and the whole territory in it.
      const width = svg.clientWidth || 360;
      const height = svg.clientHeight || 300;
      const scale = Math.max(f.w / width, f.h / height);
      const w = width * scale;
      const h = height * scale;
      setView(f.x + (f.w - w) / 2, f.y + (f.h - h) / 2, w, h);
      return true;
    }

    function reset() {
      const f = state.full;
      const width = svg.clientWidth || 360;
      const height = svg.clientHeight || 300;
      const scale = Math.max(f.w / width, f.h / height);
      const w = width * scale;
      const h = height * scale;
      setView(f.x + (f.w - w) / 2, f.y + (f.h - h) / 2, w, h);
    }

    function insideTerritory(lon, lat) {
      return state.communes.some(function (commune) {
        return insideRings(commune.rings, lon, lat);
      });
    }

    /* -- The marker (form) -- */

    function showMarker() {
      if (!state.marker) {
        return;
      }
      const p = project(state.marker.lon, state.marker.lat);
      if (!state.markerNode) {
        state.markerNode = document.createElementNS(SVG_NS, "circle");
        state.markerNode.setAttribute("class", "rmap__marker");
        layers.marker.append(state.markerNode);
      }
      state.markerNode.setAttribute("cx", p[0].toFixed(2));
      state.markerNode.setAttribute("cy", p[1].toFixed(2));
      restyle();
    }

    function placeMarker(lon, lat, options) {
      const settings = options || {};
      state.marker = { lon: lon, lat: lat };
      if (latInput && lonInput) {
        latInput.value = lat.toFixed(6);
        lonInput.value = lon.toFixed(6);
      }
      if (!settings.keepAccuracy && state.accuracyNode) {
        state.accuracyNode.remove();
        state.accuracyNode = null;
      }
      showMarker();
      if (settings.silent) {
        return;
      }
      if (!insideTerritory(lon, lat)) {
        setStatus(t("rmap.outside"), true);
      } else if (settings.message) {
        setStatus(settings.message, false);
      } else {
        setStatus(t("rmap.placed", { lat: decimal(lat, 5), lon: decimal(lon, 5) }), false);
      }
    }

    function markerFromInputs(silent) {
      if (!latInput || !lonInput) {
        return;
      }
      const lat = parseNumber(latInput.value);
      const lon = parseNumber(lonInput.value);
      if (!Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat) > 90) {
        return;
      }
      state.marker = { lon: lon, lat: lat };
      showMarker();
      if (!silent && !insideTerritory(lon, lat)) {
        setStatus(t("rmap.outside"), true);
      }
    }

    function centreOn(lon, lat, widthMetres) {
      const p = project(lon, lat);
      const v = state.view;
      const w = widthMetres || v.w;
      const h = (v.h / v.w) * w;
      setView(p[0] - w / 2, p[1] - h / 2, w, h);
    }

    function useLocation() {
      if (!navigator.geolocation) {
        setStatus(t("rmap.geo_unavailable"), true);
        return;
      }
      setStatus(t("rmap.locating"), false);
      navigator.geolocation.getCurrentPosition(
        function (position) {
          const lon = position.coords.longitude;
          const lat = position.coords.latitude;
          const accuracy = Math.round(position.coords.accuracy || 0);
          placeMarker(lon, lat, {
            keepAccuracy: true,
            message: t("rmap.located", { accuracy: accuracy }),
          });
          if (accuracy > 0) {
            if (!state.accuracyNode) {
              state.accuracyNode = document.createElementNS(SVG_NS, "circle");
              state.accuracyNode.setAttribute("class", "rmap__accuracy");
              layers.accuracy.append(state.accuracyNode);
            }
            const p = project(lon, lat);
            state.accuracyNode.setAttribute("cx", p[0].toFixed(2));
            state.accuracyNode.setAttribute("cy", p[1].toFixed(2));
            state.accuracyNode.setAttribute("r", accuracy);
          }
          centreOn(lon, lat, Math.max(400, accuracy * 6));
        },
        function (error) {
          setStatus(
            error && error.code === 1 ? t("rmap.geo_denied") : t("rmap.geo_unavailable"),
            true
          );
        },
        { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 }
      );
    }

    /* -- The dots (public map, and the open reports around on the form) -- */

    function drawPoints(list) {
      layers.points.replaceChildren();
      state.points = [];
      list.forEach(function (data, index) {
        const p = project(data.lon, data.lat);
        const node = document.createElementNS(SVG_NS, "circle");
        node.setAttribute("cx", p[0].toFixed(2));
        node.setAttribute("cy", p[1].toFixed(2));
        const stateClass = mode === "show" ? " state-" + String(data.state || "") : "";
        node.setAttribute("class", "rmap__point" + stateClass);
        layers.points.append(node);
        state.points.push({ data: data, x: p[0], y: p[1], node: node, index: index });
      });
      restyle();
    }

    function describePoint(point) {
      const d = point.data;
      return t("rmap.point", {
        number: d.number,
        category: d.category_name,
        state: d.state_label,
        date: d.date,
        commune: d.commune || "",
      });
    }

    function selectPoint(index, bringIntoView) {
      if (state.selected >= 0 && state.points[state.selected]) {
        state.points[state.selected].node.classList.remove("is-selected");
      }
      state.selected = index;
      const point = state.points[index];
      if (!point) {
        if (detail) {
          detail.textContent = "";
        }
        restyle();
        return;
      }
      point.node.classList.add("is-selected");
      layers.points.append(point.node); // on top
      if (detail) {
        detail.textContent = describePoint(point);
      }
      if (bringIntoView) {
        const v = state.view;
        if (point.x < v.x || point.x > v.x + v.w || point.y < v.y || point.y > v.y + v.h) {
          setView(point.x - v.w / 2, point.y - v.h / 2, v.w, v.h);
        }
      }
      restyle();
    }

    function nearestPoint(x, y) {
      const limit = 22 * unitsPerPixel();
      let best = -1;
      let bestDistance = limit * limit;
      for (const point of state.points) {
        const dx = point.x - x;
        const dy = point.y - y;
        const distance = dx * dx + dy * dy;
        if (distance <= bestDistance) {
          best = point.index;
          bestDistance = distance;
        }
      }
      return best;
    }

    async function loadPoints() {
      if (!config.pointsUrl) {
        return;
      }
      try {
        const response = await fetch(config.pointsUrl, {
          headers: { Accept: "application/json" },
          credentials: "same-origin",
        });
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        const body = await response.json();
        const list = Array.isArray(body.points) ? body.points : [];
        drawPoints(list);
        if (mode === "show") {
          setStatus(list.length ? t("rmap.count", { count: list.length }) : t("rmap.none"));
        }
      } catch (error) {
        if (mode === "show") {
          setStatus(t("rmap.error"), true);
        }
      }
    }

    /* -- Gestures: tap, drag, pinch, wheel -- */

    function onPointerDown(event) {
      if (event.button !== undefined && event.button > 0) {
        return;
      }
      svg.setPointerCapture(event.pointerId);
      state.pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
      if (state.pointers.size === 1) {
        state.gesture = {
          kind: "tap",
          startX: event.clientX,
          startY: event.clientY,
          lastX: event.clientX,
          lastY: event.clientY,
        };
      } else if (state.pointers.size === 2) {
        const [a, b] = Array.from(state.pointers.values());
        state.gesture = { kind: "pinch", distance: Math.hypot(a.x - b.x, a.y - b.y) || 1 };
      }
    }

    function onPointerMove(event) {
      if (!state.pointers.has(event.pointerId)) {
        return;
      }
      state.pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
      const gesture = state.gesture;
      if (!gesture) {
        return;
      }
      if (gesture.kind === "pinch" && state.pointers.size >= 2) {
        const [a, b] = Array.from(state.pointers.values());
        const distance = Math.hypot(a.x - b.x, a.y - b.y) || 1;
        const centre = toSvg((a.x + b.x) / 2, (a.y + b.y) / 2);
        if (centre) {
          zoomAt(distance / gesture.distance, centre[0], centre[1]);
        }
        gesture.distance = distance;
        return;
      }
      if (gesture.kind === "tap") {
        if (Math.hypot(event.clientX - gesture.startX, event.clientY - gesture.startY) < 8) {
          return;
        }
        gesture.kind = "drag";
      }
      if (gesture.kind === "drag") {
        const unit = unitsPerPixel();
        const v = state.view;
        setView(
          v.x - (event.clientX - gesture.lastX) * unit,
          v.y - (event.clientY - gesture.lastY) * unit,
          v.w,
          v.h
        );
        gesture.lastX = event.clientX;
        gesture.lastY = event.clientY;
      }
    }

    function onPointerUp(event) {
      if (!state.pointers.has(event.pointerId)) {
        return;
      }
      state.pointers.delete(event.pointerId);
      const gesture = state.gesture;
      if (state.pointers.size > 0) {
        // One finger left after a pinch: it may drag on, but never taps.
        const rest = Array.from(state.pointers.values())[0];
        state.gesture = { kind: "drag", lastX: rest.x, lastY: rest.y };
        return;
      }
      state.gesture = null;
      if (!gesture || gesture.kind !== "tap" || event.type === "pointercancel") {
        return;
      }
      const at = toSvg(event.clientX, event.clientY);
      if (!at) {
        return;
      }
      if (mode === "pick") {
        const lonLat = unproject(at[0], at[1]);
        placeMarker(lonLat[0], lonLat[1]);
      } else {
        selectPoint(nearestPoint(at[0], at[1]), false);
      }
    }

    function onWheel(event) {
      event.preventDefault();
      const at = toSvg(event.clientX, event.clientY);
      if (at) {
        zoomAt(event.deltaY < 0 ? 1.25 : 0.8, at[0], at[1]);
      }
    }

    function onKey(event) {
      const moves = {
        ArrowLeft: [-1, 0],
        ArrowRight: [1, 0],
        ArrowUp: [0, -1],
        ArrowDown: [0, 1],
      };
      if (event.key === "+" || event.key === "=") {
        const c = zoomCentre();
        zoomAt(1.5, c[0], c[1]);
      } else if (event.key === "-" || event.key === "_") {
        const c = zoomCentre();
        zoomAt(1 / 1.5, c[0], c[1]);
      } else if (moves[event.key] && mode === "pick") {
        const v = state.view;
        let p;
        if (state.marker) {
          const step = (event.shiftKey ? 40 : 8) * unitsPerPixel();
          const at = project(state.marker.lon, state.marker.lat);
          p = [at[0] + moves[event.key][0] * step, at[1] + moves[event.key][1] * step];
        } else {
          p = [v.x + v.w / 2, v.y + v.h / 2];
        }
        const lonLat = unproject(p[0], p[1]);
        placeMarker(lonLat[0], lonLat[1]);
        if (p[0] < v.x || p[0] > v.x + v.w || p[1] < v.y || p[1] > v.y + v.h) {
          setView(p[0] - v.w / 2, p[1] - v.h / 2, v.w, v.h);
        }
      } else if (moves[event.key] && mode === "show" && state.points.length) {
        const forward = event.key === "ArrowRight" || event.key === "ArrowDown";
        const count = state.points.length;
        const next =
          state.selected < 0
            ? forward
              ? 0
              : count - 1
            : (state.selected + (forward ? 1 : -1) + count) % count;
        selectPoint(next, true);
      } else if (event.key === "Escape" && mode === "show") {
        selectPoint(-1, false);
      } else {
        return;
      }
      event.preventDefault();
    }

    for (const button of root.querySelectorAll("[data-zoom]")) {
      button.addEventListener("click", function () {
        if (!state.view) {
          return;
        }
        if (button.dataset.zoom === "reset") {
          reset();
          return;
        }
        const c = zoomCentre();
        zoomAt(button.dataset.zoom === "in" ? 2 : 0.5, c[0], c[1]);
      });
    }

    async function start() {
      try {
        const response = await fetch(config.communesUrl, {
          headers: { Accept: "application/geo+json, application/json" },
          credentials: "same-origin",
        });
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        if (!drawCommunes(await response.json())) {
          throw new Error("no communes");
        }
      } catch (error) {
        setStatus(t("rmap.error"), true);
        if (locate && mode === "pick") {
          locate.hidden = true;
        }
        return;
      }
      setStatus("");
      svg.addEventListener("pointerdown", onPointerDown);
      svg.addEventListener("pointermove", onPointerMove);
      svg.addEventListener("pointerup", onPointerUp);
      svg.addEventListener("pointercancel", onPointerUp);
      svg.addEventListener("wheel", onWheel, { passive: false });
      svg.addEventListener("keydown", onKey);
      window.addEventListener("resize", function () {
        if (state.view) {
          const v = state.view;
          const width = svg.clientWidth || 360;
          const height = svg.clientHeight || 300;
          const h = (height / width) * v.w;
          setView(v.x, v.y + (v.h - h) / 2, v.w, h);
        }
      });
      if (mode === "pick") {
        if (coords && latInput && !latInput.value) {
          coords.open = false; // the map fills them in; they stay one tap away
        }
        if (locate) {
          locate.addEventListener("click", useLocation);
          if (!navigator.geolocation) {
            locate.hidden = true;
          }
        }
        for (const input of [latInput, lonInput]) {
          if (input) {
            input.addEventListener("change", function () {
              markerFromInputs(false);
            });
          }
        }
        markerFromInputs(true);
        if (state.marker) {
          centreOn(state.marker.lon, state.marker.lat, 1500);
        }
      }
      loadPoints();
    }

    start();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", run);
  } else {
    run();
  }

  function run() {
    initCategory();
    initCounter();
    initPhotos();
    initMap();
    focusErrors();
  }
})();
