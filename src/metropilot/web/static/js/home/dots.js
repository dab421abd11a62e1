/* The home map's equipment: the chosen kind's dots on a <canvas> (tens of thousands draw in
   milliseconds), coloured by status, fetched page by page following next_cursor. */
import { getJSON } from "../shared.js";
import { PROMINENT_STATUSES, STATUS_DRAW_ORDER, TAU, canvas, context, fmt, kindLabel, maxPoints, pageSize, root, scoped, setStatus, signInCall, state, t } from "./page.js";

/* ---- Equipment dots ------------------------------------------------------------------- */

function colourOf(status) {
  if (!state.colours.has(status)) {
    const value = getComputedStyle(document.documentElement)
      .getPropertyValue("--status-" + status)
      .trim();
    state.colours.set(status, value || "#3d4452");
  }
  return state.colours.get(status);
}

function drawOrder(statuses) {
  const unknown = statuses.filter(function (status) {
    return STATUS_DRAW_ORDER.indexOf(status) < 0;
  });
  return unknown.concat(STATUS_DRAW_ORDER);
}

export function drawPoints() {
  const width = state.width;
  const height = state.height;
  context.setTransform(1, 0, 0, 1, 0, 0);
  context.clearRect(0, 0, canvas.width, canvas.height);
  const ratio = window.devicePixelRatio || 1;
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  const set = state.points.get(state.current);
  if (!set || !state.projection || !width || !height) {
    return;
  }
  const projection = state.projection;
  // Dots shrink as they crowd: about a third of the mean spacing, between 1.2 and 4 px.
  const spacing = Math.sqrt((width * height) / Math.max(set.loaded, 1));
  const base = Math.min(4, Math.max(1.2, spacing * 0.3));
  for (const status of drawOrder(Array.from(set.byStatus.keys()))) {
    const coords = set.byStatus.get(status);
    if (!coords || !coords.length || state.hidden.has(status)) {
      continue;
    }
    // Statuses that need someone come last and a little larger: never hidden by the rest.
    const radius = PROMINENT_STATUSES.has(status) ? base * 1.35 : base;
    context.beginPath();
    for (let i = 0; i < coords.length; i += 2) {
      const x = projection.x(coords[i]);
      const y = projection.y(coords[i + 1]);
      context.moveTo(x + radius, y);
      context.arc(x, y, radius, 0, TAU);
    }
    // A white halo first, so every colour keeps its contrast whatever lies underneath.
    context.lineWidth = Math.min(1.5, base * 0.8);
    context.strokeStyle = "#ffffff";
    context.stroke();
    context.fillStyle = colourOf(status);
    context.fill();
  }
}

function announce(kind, set) {
  const label = kindLabel(kind);
  if (scoped) {
    // The summary counts the whole metropolis; this viewer sees a part of it.
    setStatus(
      set.loaded
        ? t("map.points_scoped", { kind: label, count: fmt(set.loaded) })
        : t("map.no_points_scoped", { kind: label })
    );
  } else if (!set.loaded) {
    setStatus(t("map.no_points", { kind: label }));
  } else if (set.capped) {
    setStatus(
      t("map.points_capped", {
        kind: label,
        count: fmt(set.loaded),
        total: fmt(Math.max(set.total, set.loaded)),
      })
    );
  } else {
    setStatus(t("map.points_shown", { kind: label, count: fmt(set.loaded) }));
  }
}

function loadingMessage(kind, loaded, total) {
  if (scoped) {
    return t("map.loading_points_scoped", { kind: kindLabel(kind), loaded: fmt(loaded) });
  }
  return t("map.loading_points", { kind: kindLabel(kind), loaded: fmt(loaded), total: fmt(total) });
}

// The API refused the equipment: the session ended (401) or the account does not see it (403).
function refuse(status) {
  state.refused = status;
  state.points.clear();
  drawPoints();
  if (status === 401) {
    if (signInCall) {
      signInCall.hidden = false;
    }
    setStatus(t("map.session_ended"), true);
  } else {
    setStatus(t("map.no_access"), true);
  }
}

// A page of equipment (GeoJSON points) into the kind's coordinates by status, up to maxPoints.
function addPoints(set, features) {
  for (const feature of features) {
    if (set.loaded >= maxPoints) {
      break;
    }
    const geometry = feature.geometry;
    if (!geometry || geometry.type !== "Point") {
      continue;
    }
    const status = String((feature.properties && feature.properties.status) || "ok");
    let coords = set.byStatus.get(status);
    if (!coords) {
      coords = [];
      set.byStatus.set(status, coords);
    }
    coords.push(geometry.coordinates[0], geometry.coordinates[1]);
    set.loaded += 1;
  }
}

export async function loadKind(kind) {
  state.current = kind;
  if (state.controller) {
    state.controller.abort();
    state.controller = null;
  }
  if (state.refused) {
    refuse(state.refused);
    return;
  }
  const cached = state.points.get(kind);
  if (cached && cached.complete) {
    drawPoints();
    announce(kind, cached);
    return;
  }
  const total = Number((state.summary.by_kind || {})[kind]) || 0;
  const set = { byStatus: new Map(), loaded: 0, total: total, complete: false, capped: false };
  state.points.set(kind, set);
  const controller = new AbortController();
  state.controller = controller;
  root.setAttribute("aria-busy", "true");
  setStatus(loadingMessage(kind, 0, total));
  let cursor = null;
  try {
    do {
      const params = new URLSearchParams({ kind: kind, limit: String(pageSize), format: "geojson" });
      if (cursor) {
        params.set("cursor", cursor);
      }
      const page = await getJSON(root.dataset.assetsUrl + "?" + params.toString(), controller.signal);
      addPoints(set, page.features || []);
      cursor = page.next_cursor || null;
      if (cursor && set.loaded >= maxPoints) {
        set.capped = true;
        cursor = null;
      }
      if (state.current === kind) {
        drawPoints();
        if (cursor) {
          setStatus(loadingMessage(kind, set.loaded, Math.max(total, set.loaded)));
        }
      }
    } while (cursor);
    set.complete = true;
    if (state.current === kind) {
      announce(kind, set);
    }
  } catch (error) {
    state.points.delete(kind);
    if (error && error.name === "AbortError") {
      return;
    }
    if (error && (error.status === 401 || error.status === 403)) {
      refuse(error.status);
    } else if (state.current === kind) {
      setStatus(t("map.error"), true);
    }
  } finally {
    if (state.controller === controller) {
      state.controller = null;
      root.setAttribute("aria-busy", "false");
    }
  }
}
