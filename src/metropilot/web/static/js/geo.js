/* Plane geometry of the communes' GeoJSON that the pages without a map library share: the
   rings of a polygon, the box around them, and whether a point is inside. Pure functions. */

/** The rings of a Polygon or MultiPolygon geometry ([] for anything else). */
export function ringsOf(geometry) {
  if (!geometry) return [];
  if (geometry.type === "Polygon") return geometry.coordinates;
  if (geometry.type === "MultiPolygon") return geometry.coordinates.flat();
  return [];
}

/** {minLon, minLat, maxLon, maxLat} around every point of the rings, or null when there is none. */
export function boxOf(rings) {
  let minLon = Infinity;
  let minLat = Infinity;
  let maxLon = -Infinity;
  let maxLat = -Infinity;
  for (const ring of rings) {
    for (const [lon, lat] of ring) {
      minLon = Math.min(minLon, lon);
      maxLon = Math.max(maxLon, lon);
      minLat = Math.min(minLat, lat);
      maxLat = Math.max(maxLat, lat);
    }
  }
  return Number.isFinite(minLon) ? { minLon, minLat, maxLon, maxLat } : null;
}

/** Even-odd rule over every ring: holes count out, as the SVG paths draw them. */
export function insideRings(rings, lon, lat) {
  let inside = false;
  for (const ring of rings) {
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i, i += 1) {
      const [xi, yi] = ring[i];
      const [xj, yj] = ring[j];
      if (yi > lat !== yj > lat && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) {
        inside = !inside;
      }
    }
  }
  return inside;
}

/** cos(latitude) at the middle of a box: how much shorter a degree of longitude is there. */
export function lonScale(box) {
  return Math.cos((((box.minLat + box.maxLat) / 2) * Math.PI) / 180);
}
