// The home and report pages' pure helpers: the home map's projection, shading and labels
// (static/js/home/geometry.js), the report map's view (static/js/report/view.js), the typed
// coordinates of the form, and the communes' rings (static/js/geo.js).
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { boxOf, insideRings, ringsOf } from "../../src/metropilot/web/static/js/geo.js";
import {
  anchorOf,
  boundsOf,
  boxesClash,
  classOf,
  makeProjection,
  pathData,
  rampIndex,
  rampUppers,
} from "../../src/metropilot/web/static/js/home/geometry.js";
import { parseNumber, worthShrinking } from "../../src/metropilot/web/static/js/report/form.js";
import { clampView, fitView, outside, projector, zoomedView } from "../../src/metropilot/web/static/js/report/view.js";

const square = [[[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]];
const withHole = [square[0], [[0.5, 0.5], [1.5, 0.5], [1.5, 1.5], [0.5, 1.5], [0.5, 0.5]]];

describe("the communes' rings", () => {
  it("reads Polygon and MultiPolygon, nothing else", () => {
    assert.deepEqual(ringsOf({ type: "Polygon", coordinates: square }), square);
    assert.equal(ringsOf({ type: "MultiPolygon", coordinates: [square, square] }).length, 2);
    assert.deepEqual(ringsOf({ type: "Point", coordinates: [0, 0] }), []);
    assert.deepEqual(ringsOf(null), []);
  });

  it("boxes the rings", () => {
    assert.deepEqual(boxOf(square), { minLon: 0, minLat: 0, maxLon: 2, maxLat: 2 });
    assert.equal(boxOf([]), null);
  });

  it("tells inside from outside, holes out", () => {
    assert.equal(insideRings(square, 1, 1), true);
    assert.equal(insideRings(square, 3, 1), false);
    assert.equal(insideRings(withHole, 1, 1), false);
    assert.equal(insideRings(withHole, 0.25, 1), true);
  });
});

describe("the home map", () => {
  it("fits the territory centred in the frame, below the legend strip", () => {
    const bounds = boundsOf([{ rings: square }]);
    assert.ok(Math.abs(bounds.k - Math.cos((1 * Math.PI) / 180)) < 1e-12);
    const p = makeProjection({ minLon: 0, minLat: 0, maxLon: 1, maxLat: 1, k: 1 }, 200, 100, 0);
    assert.equal(p.y(1), 8); // the top edge, inside the padding
    assert.equal(p.y(0), 92);
    assert.equal(p.x(0) + p.x(1), 200); // centred
    const below = makeProjection({ minLon: 0, minLat: 0, maxLon: 1, maxLat: 1, k: 1 }, 200, 100, 20);
    assert.ok(below.y(1) >= 20);
    assert.equal(pathData(square, { x: (v) => v, y: (v) => v }), "M0.0 0.0L2.0 0.0L2.0 2.0L0.0 2.0L0.0 0.0Z");
  });

  it("shades by quantiles, a few large communes kept apart", () => {
    const ramp = rampUppers([1, 2, 3, 4, 5, 6, 7, 8, 9, 1000]);
    assert.deepEqual(ramp, { uppers: [2, 4, 6, 8, 1000], min: 1 });
    assert.equal(classOf(5, ramp.uppers), 2);
    assert.equal(classOf(5000, ramp.uppers), 4);
    assert.equal(rampIndex(4, 5, 1000), 4);
    assert.equal(rampIndex(0, 1, 0), 0); // one class: empty, or the middle shade
    assert.equal(rampIndex(0, 1, 7), 2);
    assert.deepEqual(rampUppers([3, 3, 3]).uppers, [3]);
  });

  it("writes a name at the town centre, else at the largest ring's centroid", () => {
    const identity = { x: (v) => v, y: (v) => v };
    assert.deepEqual(anchorOf({ centre: [5, 6], rings: square }, identity), [5, 6]);
    assert.deepEqual(anchorOf({ centre: null, rings: square }, identity), [1, 1]);
    assert.equal(anchorOf({ centre: null, rings: [] }, identity), null);
  });

  it("keeps labels apart, halo included", () => {
    const a = { x: 0, y: 0, width: 10, height: 10 };
    assert.equal(boxesClash(a, { x: 15, y: 0, width: 10, height: 10 }, 8, 2), true);
    assert.equal(boxesClash(a, { x: 19, y: 0, width: 10, height: 10 }, 8, 2), false);
  });
});

describe("the report map", () => {
  const full = { x: -10, y: -10, w: 1000, h: 800 };

  it("projects to metres from the north-west corner and back", () => {
    const { project, unproject } = projector({ lon: 4.7, lat: 45.9, k: 0.7 });
    const [x, y] = project(4.8, 45.8);
    assert.ok(Math.abs(x - 0.1 * 0.7 * 111320) < 1e-6);
    assert.ok(Math.abs(y - 0.1 * 111320) < 1e-6);
    const [lon, lat] = unproject(x, y);
    assert.ok(Math.abs(lon - 4.8) < 1e-12 && Math.abs(lat - 45.8) < 1e-12);
  });

  it("keeps the view between 150 m and 1.5 territories wide, its centre inside", () => {
    assert.deepEqual(clampView(full, 0, 0, 100, 50), { x: -25, y: -12.5, w: 150, h: 75 });
    assert.equal(clampView(full, 0, 0, 5000, 2500).w, 1500);
    const far = clampView(full, 5000, 5000, 200, 100);
    assert.deepEqual([far.x + far.w / 2, far.y + far.h / 2], [990, 790]);
  });

  it("fits the territory in the frame's shape, and zooms around a fixed point", () => {
    assert.deepEqual(fitView(full, 500, 500), [-10, -110, 1000, 1000]);
    const view = { x: 0, y: 0, w: 100, h: 100 };
    assert.deepEqual(zoomedView(view, 2, 100, 100), [50, 50, 50, 50]);
    assert.equal(outside(view, 50, 50), false);
    assert.equal(outside(view, 150, 50), true);
  });

  it("reads coordinates typed with a comma or a minus sign", () => {
    assert.equal(parseNumber("45,75"), 45.75);
    assert.equal(parseNumber(" \u22124.85 "), -4.85);
    assert.ok(Number.isNaN(parseNumber("")));
    assert.ok(Number.isNaN(parseNumber("north")));
  });

  it("shrinks only large photos of the kinds a canvas redraws", () => {
    assert.equal(worthShrinking({ size: 2000000, type: "image/jpeg" }), true);
    assert.equal(worthShrinking({ size: 1000000, type: "image/jpeg" }), false);
    assert.equal(worthShrinking({ size: 2000000, type: "image/heic" }), false);
  });
});
