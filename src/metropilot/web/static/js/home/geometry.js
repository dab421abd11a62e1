/* The home page's map arithmetic, without DOM (node --test covers it): the projection of the
   territory into the frame, SVG path data, the shading classes by quantiles, and where a
   commune's name goes. */
import { boxOf, lonScale } from "../geo.js";

export const RAMP_CLASSES = 5;

/** The box around every commune's rings, with k = cos(middle latitude), or null. */
export function boundsOf(communes) {
  const box = boxOf(communes.flatMap((commune) => commune.rings));
  if (!box) return null;
  // Equirectangular projection around the middle latitude: a degree of longitude is shorter
  // than a degree of latitude by cos(latitude). Right for a metropolis-sized area.
  return { ...box, k: lonScale(box) };
}

/** Fit the territory in the box, centred, leaving `top` pixels free for the legend strip. */
export function makeProjection(bounds, width, height, top) {
  const pad = Math.max(8, Math.min(width, height) * 0.03);
  const spanX = Math.max((bounds.maxLon - bounds.minLon) * bounds.k, 1e-9);
  const spanY = Math.max(bounds.maxLat - bounds.minLat, 1e-9);
  const scale = Math.max(Math.min((width - 2 * pad) / spanX, (height - top - 2 * pad) / spanY), 1e-9);
  const offsetX = (width - spanX * scale) / 2;
  const offsetY = top + (height - top - spanY * scale) / 2;
  const kx = bounds.k * scale;
  return {
    x: (lon) => offsetX + (lon - bounds.minLon) * kx,
    y: (lat) => offsetY + (bounds.maxLat - lat) * scale,
  };
}

export function pathData(rings, projection) {
  const parts = [];
  for (const ring of rings) {
    for (let i = 0; i < ring.length; i += 1) {
      const x = projection.x(ring[i][0]).toFixed(1);
      const y = projection.y(ring[i][1]).toFixed(1);
      parts.push((i === 0 ? "M" : "L") + x + " " + y);
    }
    parts.push("Z");
  }
  return parts.join("");
}

/** Class limits by quantiles: a few large communes must not push all others into one class. */
export function rampUppers(values) {
  const sorted = values.slice().sort((a, b) => a - b);
  const uppers = [];
  for (let i = 1; i <= RAMP_CLASSES; i += 1) {
    const value = sorted[Math.max(0, Math.ceil((sorted.length * i) / RAMP_CLASSES) - 1)];
    if (!uppers.length || value > uppers[uppers.length - 1]) uppers.push(value);
  }
  return { uppers, min: sorted.length ? sorted[0] : 0 };
}

/** The shade (0 to RAMP_CLASSES - 1) of a class among classCount. */
export function rampIndex(classIndex, classCount, value) {
  if (classCount <= 1) return value > 0 ? 2 : 0;
  return Math.round((classIndex * (RAMP_CLASSES - 1)) / (classCount - 1));
}

export function classOf(value, uppers) {
  for (let i = 0; i < uppers.length; i += 1) {
    if (value <= uppers[i]) return i;
  }
  return uppers.length - 1;
}

/** Where to write a commune's name: its town centre when known, else the centroid of its
    largest ring (shoelace formula, in projected coordinates); null when there is none. */
export function anchorOf(commune, projection) {
  if (commune.centre) return [projection.x(commune.centre[0]), projection.y(commune.centre[1])];
  let best = null;
  for (const ring of commune.rings) {
    let area = 0;
    let cx = 0;
    let cy = 0;
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i, i += 1) {
      const x0 = projection.x(ring[j][0]);
      const y0 = projection.y(ring[j][1]);
      const x1 = projection.x(ring[i][0]);
      const y1 = projection.y(ring[i][1]);
      const cross = x0 * y1 - x1 * y0;
      area += cross;
      cx += (x0 + x1) * cross;
      cy += (y0 + y1) * cross;
    }
    if (area !== 0 && (!best || Math.abs(area) > best.area)) {
      best = { area: Math.abs(area), x: cx / (3 * area), y: cy / (3 * area) };
    }
  }
  return best ? [best.x, best.y] : null;
}

/** Whether two boxes ({x, y, width, height}) come closer than the gaps (a label's halo). */
export function boxesClash(a, b, gapX, gapY) {
  return !(
    a.x + a.width + gapX < b.x ||
    b.x + b.width + gapX < a.x ||
    a.y + a.height + gapY < b.y ||
    b.y + b.height + gapY < a.y
  );
}
