/* The report map's arithmetic, without DOM (node --test covers it): metres from the territory's
   north-west corner (equirectangular), and the view box kept within the territory. */

export const EARTH_M_PER_DEGREE = 111320;
const MIN_VIEW_WIDTH = 150; // metres

/** project(lon, lat) → [x, y] metres east and south of origin; unproject back. */
export function projector(origin) {
  return {
    project: (lon, lat) => [(lon - origin.lon) * origin.k * EARTH_M_PER_DEGREE, (origin.lat - lat) * EARTH_M_PER_DEGREE],
    unproject: (x, y) => [origin.lon + x / (origin.k * EARTH_M_PER_DEGREE), origin.lat - y / EARTH_M_PER_DEGREE],
  };
}

/** The view asked for, its width between 150 m and 1.5 times the territory's (same shape), its
    centre kept inside the territory. */
export function clampView(full, x, y, w, h) {
  const ratio = h / w;
  const width = Math.min(Math.max(w, MIN_VIEW_WIDTH), full.w * 1.5);
  const height = width * ratio;
  const cx = Math.min(Math.max(x + w / 2, full.x), full.x + full.w);
  const cy = Math.min(Math.max(y + h / 2, full.y), full.y + full.h);
  return { x: cx - width / 2, y: cy - height / 2, w: width, h: height };
}

/** The whole territory, centred in a frame of width × height pixels (the frame's shape). */
export function fitView(full, width, height) {
  const scale = Math.max(full.w / width, full.h / height);
  const w = width * scale;
  const h = height * scale;
  return [full.x + (full.w - w) / 2, full.y + (full.h - h) / 2, w, h];
}

/** The view zoomed by factor around (cx, cy), which stays where it is on screen. */
export function zoomedView(v, factor, cx, cy) {
  const w = v.w / factor;
  const h = v.h / factor;
  return [cx - ((cx - v.x) / v.w) * w, cy - ((cy - v.y) / v.h) * h, w, h];
}

/** Whether a point lies outside the view. */
export function outside(v, x, y) {
  return x < v.x || x > v.x + v.w || y < v.y || y > v.y + v.h;
}
