/* The report map's gestures: tap, drag, pinch, wheel, the keyboard (+ and - zoom; the arrows move
   the marker on the form, or go from report to report on the public map) and the zoom buttons. */
import { outside } from "./view.js";

const MOVES = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

class Gestures {
  constructor(map) {
    this.map = map;
    this.pointers = new Map();
    this.gesture = null;
  }

  down(event) {
    if (event.button !== undefined && event.button > 0) return;
    this.map.svg.setPointerCapture(event.pointerId);
    this.pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
    if (this.pointers.size === 1) {
      const [x, y] = [event.clientX, event.clientY];
      this.gesture = { kind: "tap", startX: x, startY: y, lastX: x, lastY: y };
    } else if (this.pointers.size === 2) {
      const [a, b] = Array.from(this.pointers.values());
      this.gesture = { kind: "pinch", distance: Math.hypot(a.x - b.x, a.y - b.y) || 1 };
    }
  }

  move(event) {
    if (!this.pointers.has(event.pointerId)) return;
    this.pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
    const gesture = this.gesture;
    if (!gesture) return;
    if (gesture.kind === "pinch" && this.pointers.size >= 2) {
      this.pinch(gesture);
      return;
    }
    if (gesture.kind === "tap") {
      if (Math.hypot(event.clientX - gesture.startX, event.clientY - gesture.startY) < 8) return;
      gesture.kind = "drag";
    }
    if (gesture.kind === "drag") {
      const unit = this.map.unitsPerPixel();
      const v = this.map.view;
      this.map.setView(v.x - (event.clientX - gesture.lastX) * unit, v.y - (event.clientY - gesture.lastY) * unit, v.w, v.h);
      gesture.lastX = event.clientX;
      gesture.lastY = event.clientY;
    }
  }

  pinch(gesture) {
    const [a, b] = Array.from(this.pointers.values());
    const distance = Math.hypot(a.x - b.x, a.y - b.y) || 1;
    const centre = this.map.toSvg((a.x + b.x) / 2, (a.y + b.y) / 2);
    if (centre) this.map.zoomAt(distance / gesture.distance, centre[0], centre[1]);
    gesture.distance = distance;
  }

  up(event) {
    if (!this.pointers.has(event.pointerId)) return;
    this.pointers.delete(event.pointerId);
    const gesture = this.gesture;
    if (this.pointers.size > 0) {
      // One finger left after a pinch: it may drag on, but never taps.
      const rest = Array.from(this.pointers.values())[0];
      this.gesture = { kind: "drag", lastX: rest.x, lastY: rest.y };
      return;
    }
    this.gesture = null;
    if (!gesture || gesture.kind !== "tap" || event.type === "pointercancel") return;
    const at = this.map.toSvg(event.clientX, event.clientY);
    if (!at) return;
    if (this.map.mode === "pick") {
      const lonLat = this.map.unproject(at[0], at[1]);
      this.map.placeMarker(lonLat[0], lonLat[1]);
    } else {
      this.map.selectPoint(this.map.nearestPoint(at[0], at[1]), false);
    }
  }

  wheel(event) {
    event.preventDefault();
    const at = this.map.toSvg(event.clientX, event.clientY);
    if (at) this.map.zoomAt(event.deltaY < 0 ? 1.25 : 0.8, at[0], at[1]);
  }

  // The arrows on the form: the marker moves (8 px, 40 with Shift), or appears in the middle.
  moveMarker(event) {
    const map = this.map;
    const v = map.view;
    let p;
    if (map.marker) {
      const step = (event.shiftKey ? 40 : 8) * map.unitsPerPixel();
      const at = map.project(map.marker.lon, map.marker.lat);
      p = [at[0] + MOVES[event.key][0] * step, at[1] + MOVES[event.key][1] * step];
    } else {
      p = [v.x + v.w / 2, v.y + v.h / 2];
    }
    const lonLat = map.unproject(p[0], p[1]);
    map.placeMarker(lonLat[0], lonLat[1]);
    if (outside(v, p[0], p[1])) map.setView(p[0] - v.w / 2, p[1] - v.h / 2, v.w, v.h);
  }

  // The arrows on the public map: the next or previous report.
  nextPoint(event) {
    const map = this.map;
    const forward = event.key === "ArrowRight" || event.key === "ArrowDown";
    const count = map.points.length;
    const first = forward ? 0 : count - 1;
    map.selectPoint(map.selected < 0 ? first : (map.selected + (forward ? 1 : -1) + count) % count, true);
  }

  key(event) {
    const map = this.map;
    if (event.key === "+" || event.key === "=") {
      map.zoomAt(1.5, ...map.zoomCentre());
    } else if (event.key === "-" || event.key === "_") {
      map.zoomAt(1 / 1.5, ...map.zoomCentre());
    } else if (MOVES[event.key] && map.mode === "pick") {
      this.moveMarker(event);
    } else if (MOVES[event.key] && map.mode === "show" && map.points.length) {
      this.nextPoint(event);
    } else if (event.key === "Escape" && map.mode === "show") {
      map.selectPoint(-1, false);
    } else {
      return;
    }
    event.preventDefault();
  }
}

/** Listen to the map's gestures, keys and zoom buttons. */
export function attachGestures(map) {
  const gestures = new Gestures(map);
  const svg = map.svg;
  svg.addEventListener("pointerdown", (e) => gestures.down(e));
  svg.addEventListener("pointermove", (e) => gestures.move(e));
  svg.addEventListener("pointerup", (e) => gestures.up(e));
  svg.addEventListener("pointercancel", (e) => gestures.up(e));
  svg.addEventListener("wheel", (e) => gestures.wheel(e), { passive: false });
  svg.addEventListener("keydown", (e) => gestures.key(e));
  for (const button of map.root.querySelectorAll("[data-zoom]")) {
    button.addEventListener("click", () => {
      if (!map.view) return;
      if (button.dataset.zoom === "reset") {
        map.reset();
        return;
      }
      map.zoomAt(button.dataset.zoom === "in" ? 2 : 0.5, ...map.zoomCentre());
    });
  }
}
