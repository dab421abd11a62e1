/* The command centre's map pieces (static/command.js builds the page with them):
   - AssetLayer: ONE canvas that draws every asset of the viewport itself, as grid clusters
     (counts by status) or as points (shape and colour per status), with hit-testing for clicks.
     No Leaflet marker per asset: 34,000 lights (340,000 at scale 10) stay fluid.
   - the offline basemap helpers (commune boundaries, generated streets).
   An ES module, no build step, no inline style (CSSOM only: the page's CSP). Leaflet (window.L)
   is loaded by a classic script before the modules run; without it there is no AssetLayer, and
   the pure helpers below still import (node --test covers them). */

// Drawing order: the statuses that need someone are drawn last, on top.
export const STATUS_ORDER = ["decommissioned", "ok", "maintenance", "degraded", "offline", "fault"];
export const WORST_FIRST = ["fault", "offline", "degraded", "maintenance", "ok", "decommissioned"];
// At least 3:1 against the light basemap (WCAG 2.1 non-text contrast); the shape says it too.
export const COLOURS = {
  ok: "#1a7f37",
  degraded: "#9a5b00",
  fault: "#c8102e",
  offline: "#3f4754",
  maintenance: "#1f5fbf",
  decommissioned: "#6b7280",
};
export const PAD = 0.15; // the canvas covers the viewport plus 15 % on each side (panning)
const HIT_PX = 9;

export function mercX(lon) {
  return (lon + 180) / 360;
}
export function mercY(lat) {
  const s = Math.sin((Math.max(-85, Math.min(85, lat)) * Math.PI) / 180);
  return 0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI);
}

// A point's outline for its status: circle, diamond, triangle, square, cross, small dot.
function shape(ctx, status, x, y, r) {
  switch (status) {
    case "fault": {
      const k = r * 1.35;
      ctx.moveTo(x, y - k);
      ctx.lineTo(x + k, y + k * 0.8);
      ctx.lineTo(x - k, y + k * 0.8);
      ctx.closePath();
      break;
    }
    case "degraded":
      ctx.moveTo(x, y - r * 1.25);
      ctx.lineTo(x + r * 1.25, y);
      ctx.lineTo(x, y + r * 1.25);
      ctx.lineTo(x - r * 1.25, y);
      ctx.closePath();
      break;
    case "offline":
      ctx.rect(x - r, y - r, 2 * r, 2 * r);
      break;
    case "maintenance": {
      const a = r * 0.45;
      const b = r * 1.2;
      ctx.moveTo(x - a, y - b);
      ctx.lineTo(x + a, y - b);
      ctx.lineTo(x + a, y - a);
      ctx.lineTo(x + b, y - a);
      ctx.lineTo(x + b, y + a);
      ctx.lineTo(x + a, y + a);
      ctx.lineTo(x + a, y + b);
      ctx.lineTo(x - a, y + b);
      ctx.lineTo(x - a, y + a);
      ctx.lineTo(x - b, y + a);
      ctx.lineTo(x - b, y - a);
      ctx.lineTo(x - a, y - a);
      ctx.closePath();
      break;
    }
    case "decommissioned":
      ctx.moveTo(x + r * 0.6, y);
      ctx.arc(x, y, r * 0.6, 0, 2 * Math.PI);
      break;
    default:
      ctx.moveTo(x + r, y);
      ctx.arc(x, y, r, 0, 2 * Math.PI);
  }
}

function emptyPoints() {
  return {
    n: 0,
    id: new Int32Array(0),
    ref: [],
    kind: [],
    status: [],
    mx: new Float64Array(0),
    my: new Float64Array(0),
    lon: new Float64Array(0),
    lat: new Float64Array(0),
    px: new Float32Array(0),
    py: new Float32Array(0),
    byId: new Map(),
  };
}

/** A cluster of the map/assets answer, with its worst status, how many need attention (fault or
    offline), and its place in Web Mercator units. */
export function clusterOf(c) {
  const statuses = c.statuses || {};
  const worst = WORST_FIRST.find((s) => statuses[s]) || "ok";
  const attention = (statuses.fault || 0) + (statuses.offline || 0);
  return { ...c, mx: mercX(c.lon), my: mercY(c.lat), worst, attention, px: 0, py: 0 };
}

/** A cluster's label: its count, in thousands ("12k") from 10,000. */
export function clusterLabel(count) {
  return count >= 10000 ? Math.round(count / 1000) + "k" : String(count);
}

export const AssetLayer = globalThis.L ? L.Layer.extend({
  options: { pane: "overlayPane" },

  initialize: function (options) {
    L.setOptions(this, options);
    this._points = emptyPoints();
    this._clusters = [];
    this._selected = null; // asset id
    this._marker = null; // {lon, lat}: a place to ring (a citizen report)
    this.draws = 0;
  },

  onAdd: function (map) {
    this._canvas = L.DomUtil.create("canvas", "map__dots cc-canvas leaflet-zoom-animated");
    this._canvas.setAttribute("aria-hidden", "true");
    this._ctx = this._canvas.getContext("2d");
    map.getPane(this.options.pane).appendChild(this._canvas);
    this._reset();
  },

  onRemove: function () {
    L.DomUtil.remove(this._canvas);
  },

  getEvents: function () {
    return {
      moveend: this._reset,
      zoomanim: this._animateZoom,
      zoom: this._onZoom,
      resize: this._reset,
      viewreset: this._reset,
    };
  },

  // A CSS transform while the zoom changes, as Leaflet's own renderers do; redrawn at moveend.
  _transform: function (zoom, center) {
    const scale = this._map.getZoomScale(zoom, this._zoom);
    const offset = this._map._latLngToNewLayerPoint(this._topLeftLatLng, zoom, center);
    L.DomUtil.setTransform(this._canvas, offset, scale);
  },

  _animateZoom: function (e) {
    this._transform(e.zoom, e.center);
  },

  _onZoom: function () {
    // flyTo moves the zoom frame by frame without zoomanim.
    if (this._topLeftLatLng) this._transform(this._map.getZoom(), this._map.getCenter());
  },

  _reset: function () {
    const map = this._map;
    if (!map) return;
    const size = map.getSize();
    const padX = Math.round(size.x * PAD);
    const padY = Math.round(size.y * PAD);
    const topLeft = map.containerPointToLayerPoint([-padX, -padY]).round();
    L.DomUtil.setPosition(this._canvas, topLeft);
    const w = size.x + 2 * padX;
    const h = size.y + 2 * padY;
    const dpr = Math.min(window.devicePixelRatio || 1, 2);
    if (this._w !== w || this._h !== h || this._dpr !== dpr) {
      this._canvas.width = Math.round(w * dpr);
      this._canvas.height = Math.round(h * dpr);
      this._canvas.style.width = w + "px";
      this._canvas.style.height = h + "px";
      this._w = w;
      this._h = h;
      this._dpr = dpr;
    }
    this._padX = padX;
    this._padY = padY;
    const origin = map.getPixelOrigin();
    this._ox = topLeft.x + origin.x;
    this._oy = topLeft.y + origin.y;
    this._zoom = map.getZoom();
    this._scale = 256 * Math.pow(2, this._zoom);
    this._topLeftLatLng = map.layerPointToLatLng(topLeft);
    this.redraw();
  },

  /** The map/assets answer: points as column arrays, clusters as a list. */
  setData: function (answer) {
    const cols = answer.points || {};
    const ids = cols.id || [];
    const n = ids.length;
    const p = emptyPoints();
    p.n = n;
    p.id = Int32Array.from(ids);
    p.ref = cols.ref || [];
    p.kind = cols.kind || [];
    p.status = (cols.status || []).slice();
    p.lon = Float64Array.from(cols.lon || []);
    p.lat = Float64Array.from(cols.lat || []);
    p.mx = new Float64Array(n);
    p.my = new Float64Array(n);
    p.px = new Float32Array(n);
    p.py = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      p.mx[i] = mercX(p.lon[i]);
      p.my[i] = mercY(p.lat[i]);
      p.byId.set(p.id[i], i);
    }
    this._points = p;
    this._clusters = (answer.clusters || []).map(clusterOf);
    this.mode = answer.mode;
    this.total = answer.total || 0;
    this.redraw();
  },

  clear: function () {
    this.setData({ mode: "points", total: 0, clusters: [], points: {} });
  },

  /** A live status change; true when that asset is drawn (the caller then redraws once). */
  setStatus: function (id, status) {
    const i = this._points.byId.get(id);
    if (i === undefined || this._points.status[i] === status) return false;
    this._points.status[i] = status;
    return true;
  },

  select: function (id) {
    this._selected = id;
    this.redraw();
  },

  ring: function (place) {
    this._marker = place;
    this.redraw();
  },

  pointsInView: function () {
    const out = [];
    const p = this._points;
    const minX = this._padX;
    const maxX = this._w - this._padX;
    const minY = this._padY;
    const maxY = this._h - this._padY;
    for (let i = 0; i < p.n; i++) {
      const x = p.mx[i] * this._scale - this._ox;
      const y = p.my[i] * this._scale - this._oy;
      if (x >= minX && x <= maxX && y >= minY && y <= maxY) out.push(i);
    }
    return out;
  },

  point: function (i) {
    const p = this._points;
    return { id: p.id[i], ref: p.ref[i], kind: p.kind[i], status: p.status[i], lon: p.lon[i], lat: p.lat[i] };
  },

  clusters: function () {
    return this._clusters;
  },

  redraw: function () {
    if (!this._map || !this._ctx) return;
    const ctx = this._ctx;
    const dpr = this._dpr;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, this._w, this._h);
    const sc = this._scale;
    const ox = this._ox;
    const oy = this._oy;
    const w = this._w;
    const h = this._h;
    this.draws++;

    // Clusters: a disc sized by the count, ringed in the colour of its worst status, the
    // count written inside; the share needing attention as an arc.
    if (this._clusters.length) {
      ctx.font = "600 12px system-ui, sans-serif";
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      for (const c of this._clusters) {
        const x = c.mx * sc - ox;
        const y = c.my * sc - oy;
        c.px = x;
        c.py = y;
        if (x < -40 || y < -40 || x > w + 40 || y > h + 40) continue;
        const r = Math.min(26, 10 + 3.2 * Math.log10(c.count + 1) * 1.6);
        c.r = r;
        ctx.beginPath();
        ctx.arc(x, y, r, 0, 2 * Math.PI);
        ctx.fillStyle = "rgba(255,255,255,0.92)";
        ctx.fill();
        ctx.lineWidth = 3;
        ctx.strokeStyle = COLOURS.ok;
        ctx.stroke();
        if (c.attention) {
          ctx.beginPath();
          const share = Math.max(0.06, c.attention / c.count);
          ctx.arc(x, y, r, -Math.PI / 2, -Math.PI / 2 + share * 2 * Math.PI);
          ctx.strokeStyle = COLOURS[c.worst] || COLOURS.fault;
          ctx.lineWidth = 5;
          ctx.stroke();
        }
        ctx.fillStyle = "#1b1f24";
        ctx.fillText(clusterLabel(c.count), x, y);
      }
    }

    // Points, one path per status (few fill-style changes), worst on top.
    const p = this._points;
    if (p.n) {
      const zoom = this._map.getZoom();
      const base = zoom >= 17 ? 6 : zoom >= 15 ? 4.5 : 3.5;
      for (let i = 0; i < p.n; i++) {
        p.px[i] = p.mx[i] * sc - ox;
        p.py[i] = p.my[i] * sc - oy;
      }
      ctx.lineWidth = 1.25;
      ctx.strokeStyle = "#ffffff";
      for (const status of STATUS_ORDER) {
        ctx.beginPath();
        let any = false;
        for (let i = 0; i < p.n; i++) {
          if (p.status[i] !== status) continue;
          const x = p.px[i];
          const y = p.py[i];
          if (x < -10 || y < -10 || x > w + 10 || y > h + 10) continue;
          shape(ctx, status, x, y, p.kind[i] === "vehicle" ? base + 2 : base);
          any = true;
        }
        if (!any) continue;
        ctx.fillStyle = COLOURS[status] || COLOURS.ok;
        ctx.stroke();
        ctx.fill();
      }
      const sel = this._selected === null ? undefined : p.byId.get(this._selected);
      if (sel !== undefined) this._halo(p.px[sel], p.py[sel], base + 7);
    }
    if (this._marker) {
      this._halo(mercX(this._marker.lon) * sc - ox, mercY(this._marker.lat) * sc - oy, 12);
    }
  },

  _halo: function (x, y, r) {
    const ctx = this._ctx;
    ctx.beginPath();
    ctx.arc(x, y, r, 0, 2 * Math.PI);
    ctx.lineWidth = 4;
    ctx.strokeStyle = "#ffffff";
    ctx.stroke();
    ctx.lineWidth = 2.5;
    ctx.strokeStyle = "#0b3d91";
    ctx.stroke();
  },

  /** What is under a point of the map container: {type: "point", index} or {type: "cluster"}. */
  hitTest: function (containerPoint) {
    const x = containerPoint.x + this._padX;
    const y = containerPoint.y + this._padY;
    const p = this._points;
    let best = -1;
    let bestD = HIT_PX * HIT_PX;
    for (let i = 0; i < p.n; i++) {
      const dx = p.px[i] - x;
      const dy = p.py[i] - y;
      const d = dx * dx + dy * dy;
      if (d <= bestD) {
        best = i;
        bestD = d;
      }
    }
    if (best >= 0) return { type: "point", index: best, asset: this.point(best) };
    for (const c of this._clusters) {
      const dx = c.px - x;
      const dy = c.py - y;
      if (c.r && dx * dx + dy * dy <= c.r * c.r) return { type: "cluster", cluster: c };
    }
    return null;
  },
}) : null;
