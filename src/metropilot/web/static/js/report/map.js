/* The report pages' map: the communes drawn as SVG from the public API, zoom and pan (buttons,
   wheel, drag, pinch, keyboard: gestures.js). On the form ("pick"), a tap places the marker and
   fills the latitude and longitude fields; "use my location" does the same from the phone's
   position. On the public map ("show"), the open reports are dots: a tap or the arrow keys tell
   what each one is. */
import { insideRings, ringsOf } from "../geo.js";
import { getJSON } from "../shared.js";
import { parseNumber } from "./form.js";
import { attachGestures } from "./gestures.js";
import { clampView, fitView, outside, projector, zoomedView } from "./view.js";

const LAYERS = ["communes", "labels", "points", "accuracy", "marker"];

export class ReportMap {
  constructor(root, config, t, decimal) {
    this.root = root;
    this.config = config;
    this.t = t;
    this.decimal = decimal;
    this.mode = root.dataset.mode === "show" ? "show" : "pick";
    this.svg = root.querySelector(".rmap__svg");
    this.SVG_NS = this.svg.namespaceURI;
    this.statusLine = document.getElementById("rmap-status");
    this.detail = document.getElementById("rmap-detail");
    this.latInput = document.getElementById("report-lat");
    this.lonInput = document.getElementById("report-lon");
    this.layers = {};
    for (const name of LAYERS) {
      this.layers[name] = document.createElementNS(this.SVG_NS, "g");
      this.svg.append(this.layers[name]);
    }
    this.communes = []; // {name, rings, label, area}
    this.full = null; // the whole territory: {x, y, w, h}
    this.view = null;
    this.points = []; // {data, x, y, node, index}
    this.selected = -1;
    this.marker = null; // {lon, lat}
    this.markerNode = null;
    this.accuracyNode = null;
  }

  setStatus(text, isError) {
    if (!this.statusLine) return;
    this.statusLine.textContent = text;
    this.statusLine.classList.toggle("is-error", Boolean(isError));
  }

  unitsPerPixel() {
    const v = this.view;
    return Math.max(v.w / (this.svg.clientWidth || 1), v.h / (this.svg.clientHeight || 1));
  }

  toSvg(clientX, clientY) {
    const matrix = this.svg.getScreenCTM();
    if (!matrix) return null;
    const point = new DOMPoint(clientX, clientY).matrixTransform(matrix.inverse());
    return [point.x, point.y];
  }

  frameSize() {
    return [this.svg.clientWidth || 360, this.svg.clientHeight || 300];
  }

  setView(x, y, w, h) {
    const v = (this.view = clampView(this.full, x, y, w, h));
    this.svg.setAttribute("viewBox", [v.x, v.y, v.w, v.h].map((n) => n.toFixed(2)).join(" "));
    this.restyle();
  }

  zoomAt(factor, cx, cy) {
    this.setView(...zoomedView(this.view, factor, cx, cy));
  }

  zoomCentre() {
    const v = this.view;
    if (this.marker) return this.project(this.marker.lon, this.marker.lat);
    return [v.x + v.w / 2, v.y + v.h / 2];
  }

  reset() {
    this.setView(...fitView(this.full, ...this.frameSize()));
  }

  centreOn(lon, lat, widthMetres) {
    const p = this.project(lon, lat);
    const v = this.view;
    const w = widthMetres || v.w;
    const h = (v.h / v.w) * w;
    this.setView(p[0] - w / 2, p[1] - h / 2, w, h);
  }

  /** Keep the view's width and the frame's new shape (the window was resized). */
  refit() {
    if (!this.view) return;
    const v = this.view;
    const [width, height] = this.frameSize();
    const h = (height / width) * v.w;
    this.setView(v.x, v.y + (v.h - h) / 2, v.w, h);
  }

  // Sizes on screen stay the same whatever the zoom: radii and fonts follow the scale.
  restyle() {
    const unit = this.unitsPerPixel();
    for (const point of this.points) {
      point.node.setAttribute("r", (point.index === this.selected ? 9 : 6) * unit);
    }
    if (this.markerNode) this.markerNode.setAttribute("r", 10 * unit);
    const fontSize = 12 * unit;
    const showLabels = this.view.w < this.full.w * 0.8 || (this.svg.clientWidth || 0) > 700;
    for (const commune of this.communes) {
      if (!commune.label) continue;
      commune.label.setAttribute("font-size", fontSize.toFixed(2));
      commune.label.setAttribute("stroke-width", (3 * unit).toFixed(2));
      commune.label.setAttribute("visibility", showLabels && commune.area / (unit * unit) > 9000 ? "visible" : "hidden");
    }
  }

  /** Draw the communes and fit the territory in the frame; false when there is none. */
  drawCommunes(collection) {
    const features = (collection && collection.features) || [];
    const communes = [];
    for (const feature of features) {
      const rings = ringsOf(feature.geometry);
      if (rings.length) communes.push({ name: String((feature.properties || {}).name || ""), rings });
    }
    if (!communes.length) return false;
    this.setOrigin(communes);
    for (const commune of communes) this.drawCommune(commune);
    this.communes = communes;
    this.reset();
    return true;
  }

  setOrigin(communes) {
    let minLon = Infinity;
    let minLat = Infinity;
    let maxLon = -Infinity;
    let maxLat = -Infinity;
    for (const commune of communes) {
      for (const ring of commune.rings) {
        for (const [lon, lat] of ring) {
          minLon = Math.min(minLon, lon);
          maxLon = Math.max(maxLon, lon);
          minLat = Math.min(minLat, lat);
          maxLat = Math.max(maxLat, lat);
        }
      }
    }
    const origin = { lon: minLon, lat: maxLat, k: Math.cos((((minLat + maxLat) / 2) * Math.PI) / 180) };
    const { project, unproject } = projector(origin);
    this.project = project;
    this.unproject = unproject;
    const corner = project(maxLon, minLat);
    const pad = Math.max(corner[0], corner[1]) * 0.03;
    this.full = { x: -pad, y: -pad, w: corner[0] + 2 * pad, h: corner[1] + 2 * pad };
  }

  drawCommune(commune) {
    const parts = [];
    let sx = 0;
    let sy = 0;
    let n = 0;
    const box = { x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity };
    for (const ring of commune.rings) {
      ring.forEach((point, i) => {
        const p = this.project(point[0], point[1]);
        parts.push((i === 0 ? "M" : "L") + p[0].toFixed(1) + " " + p[1].toFixed(1));
        sx += p[0];
        sy += p[1];
        n += 1;
        box.x0 = Math.min(box.x0, p[0]);
        box.y0 = Math.min(box.y0, p[1]);
        box.x1 = Math.max(box.x1, p[0]);
        box.y1 = Math.max(box.y1, p[1]);
      });
      parts.push("Z");
    }
    const path = this.svgNode("path", { d: parts.join(""), class: "rmap__commune" });
    const title = this.svgNode("title", {});
    title.textContent = commune.name;
    path.append(title);
    this.layers.communes.append(path);
    commune.area = (box.x1 - box.x0) * (box.y1 - box.y0);
    if (commune.name && n) {
      const label = this.svgNode("text", { x: (sx / n).toFixed(1), y: (sy / n).toFixed(1), class: "rmap__label", "aria-hidden": "true" });
      label.textContent = commune.name;
      this.layers.labels.append(label);
      commune.label = label;
    }
  }

  svgNode(tag, attributes) {
    const node = document.createElementNS(this.SVG_NS, tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    return node;
  }

  insideTerritory(lon, lat) {
    return this.communes.some((commune) => insideRings(commune.rings, lon, lat));
  }

  /* -- The marker (form) -- */

  showMarker() {
    if (!this.marker) return;
    const p = this.project(this.marker.lon, this.marker.lat);
    if (!this.markerNode) {
      this.markerNode = this.svgNode("circle", { class: "rmap__marker" });
      this.layers.marker.append(this.markerNode);
    }
    this.markerNode.setAttribute("cx", p[0].toFixed(2));
    this.markerNode.setAttribute("cy", p[1].toFixed(2));
    this.restyle();
  }

  placeMarker(lon, lat, options) {
    const settings = options || {};
    this.marker = { lon, lat };
    if (this.latInput && this.lonInput) {
      this.latInput.value = lat.toFixed(6);
      this.lonInput.value = lon.toFixed(6);
    }
    if (!settings.keepAccuracy && this.accuracyNode) {
      this.accuracyNode.remove();
      this.accuracyNode = null;
    }
    this.showMarker();
    if (settings.silent) return;
    if (!this.insideTerritory(lon, lat)) {
      this.setStatus(this.t("rmap.outside"), true);
    } else if (settings.message) {
      this.setStatus(settings.message, false);
    } else {
      this.setStatus(this.t("rmap.placed", { lat: this.decimal(lat, 5), lon: this.decimal(lon, 5) }), false);
    }
  }

  markerFromInputs(silent) {
    if (!this.latInput || !this.lonInput) return;
    const lat = parseNumber(this.latInput.value);
    const lon = parseNumber(this.lonInput.value);
    if (!Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat) > 90) return;
    this.marker = { lon, lat };
    this.showMarker();
    if (!silent && !this.insideTerritory(lon, lat)) this.setStatus(this.t("rmap.outside"), true);
  }

  useLocation() {
    if (!navigator.geolocation) {
      this.setStatus(this.t("rmap.geo_unavailable"), true);
      return;
    }
    this.setStatus(this.t("rmap.locating"), false);
    navigator.geolocation.getCurrentPosition(
      (position) => this.located(position),
      (error) => this.setStatus(error && error.code === 1 ? this.t("rmap.geo_denied") : this.t("rmap.geo_unavailable"), true),
      { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 }
    );
  }

  located(position) {
    const lon = position.coords.longitude;
    const lat = position.coords.latitude;
    const accuracy = Math.round(position.coords.accuracy || 0);
    this.placeMarker(lon, lat, { keepAccuracy: true, message: this.t("rmap.located", { accuracy }) });
    if (accuracy > 0) {
      if (!this.accuracyNode) {
        this.accuracyNode = this.svgNode("circle", { class: "rmap__accuracy" });
        this.layers.accuracy.append(this.accuracyNode);
      }
      const p = this.project(lon, lat);
      this.accuracyNode.setAttribute("cx", p[0].toFixed(2));
      this.accuracyNode.setAttribute("cy", p[1].toFixed(2));
      this.accuracyNode.setAttribute("r", accuracy);
    }
    this.centreOn(lon, lat, Math.max(400, accuracy * 6));
  }

  /* -- The dots (public map, and the open reports around on the form) -- */

  drawPoints(list) {
    this.layers.points.replaceChildren();
    this.points = list.map((data, index) => {
      const p = this.project(data.lon, data.lat);
      const stateClass = this.mode === "show" ? " state-" + String(data.state || "") : "";
      const node = this.svgNode("circle", { cx: p[0].toFixed(2), cy: p[1].toFixed(2), class: "rmap__point" + stateClass });
      this.layers.points.append(node);
      return { data, x: p[0], y: p[1], node, index };
    });
    this.restyle();
  }

  describePoint(point) {
    const d = point.data;
    return this.t("rmap.point", {
      number: d.number,
      category: d.category_name,
      state: d.state_label,
      date: d.date,
      commune: d.commune || "",
    });
  }

  selectPoint(index, bringIntoView) {
    if (this.selected >= 0 && this.points[this.selected]) this.points[this.selected].node.classList.remove("is-selected");
    this.selected = index;
    const point = this.points[index];
    if (!point) {
      if (this.detail) this.detail.textContent = "";
      this.restyle();
      return;
    }
    point.node.classList.add("is-selected");
    this.layers.points.append(point.node); // on top
    if (this.detail) this.detail.textContent = this.describePoint(point);
    const v = this.view;
    if (bringIntoView && outside(v, point.x, point.y)) this.setView(point.x - v.w / 2, point.y - v.h / 2, v.w, v.h);
    this.restyle();
  }

  nearestPoint(x, y) {
    const limit = 22 * this.unitsPerPixel();
    let best = -1;
    let bestDistance = limit * limit;
    for (const point of this.points) {
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

  async loadPoints() {
    if (!this.config.pointsUrl) return;
    try {
      const body = await getJSON(this.config.pointsUrl);
      const list = Array.isArray(body.points) ? body.points : [];
      this.drawPoints(list);
      if (this.mode === "show") this.setStatus(list.length ? this.t("rmap.count", { count: list.length }) : this.t("rmap.none"));
    } catch {
      if (this.mode === "show") this.setStatus(this.t("rmap.error"), true);
    }
  }

  /* -- Start -- */

  async start() {
    const locate = document.getElementById("use-location");
    try {
      const collection = await getJSON(this.config.communesUrl, undefined, "application/geo+json, application/json");
      if (!this.drawCommunes(collection)) throw new Error("no communes");
    } catch {
      this.setStatus(this.t("rmap.error"), true);
      if (locate && this.mode === "pick") locate.hidden = true;
      return;
    }
    this.setStatus("");
    attachGestures(this);
    window.addEventListener("resize", () => this.refit());
    if (this.mode === "pick") this.startPicking(locate);
    this.loadPoints();
  }

  startPicking(locate) {
    const coords = document.getElementById("report-coords");
    if (coords && this.latInput && !this.latInput.value) {
      coords.open = false; // the map fills them in; they stay one tap away
    }
    if (locate) {
      locate.addEventListener("click", () => this.useLocation());
      if (!navigator.geolocation) locate.hidden = true;
    }
    for (const input of [this.latInput, this.lonInput]) {
      if (input) input.addEventListener("change", () => this.markerFromInputs(false));
    }
    this.markerFromInputs(true);
    if (this.marker) this.centreOn(this.marker.lon, this.marker.lat, 1500);
  }
}
