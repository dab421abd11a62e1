/* The home map's communes: SVG paths shaded by their amount of equipment, their names where
   they fit, a description on hover and focus, the arrow keys from one to the next. */
import { ringsOf } from "../geo.js";
import { anchorOf, boundsOf, boxesClash, classOf, rampIndex, rampUppers } from "./geometry.js";
import { SVG_NS, communesLayer, detail, fmt, focusLayer, hint, labelLayer, lang, rampLegend, root, state, t } from "./page.js";

/* ---- Communes: shading by amount of equipment ----------------------------------------- */

export function shadeCommunes() {
  const counts = state.communes.map(function (commune) {
    return commune.count;
  });
  const ramp = rampUppers(counts);
  for (const commune of state.communes) {
    const index = rampIndex(classOf(commune.count, ramp.uppers), ramp.uppers.length, commune.count);
    commune.path.setAttribute("class", "ramp-" + index);
  }
  if (!rampLegend) {
    return;
  }
  rampLegend.replaceChildren();
  let lower = ramp.min;
  ramp.uppers.forEach(function (upper, i) {
    const item = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = "swatch ramp-" + rampIndex(i, ramp.uppers.length, upper);
    swatch.setAttribute("aria-hidden", "true");
    const text = lower === upper ? fmt(upper) : fmt(lower) + "\u2013" + fmt(upper);
    item.append(swatch, document.createTextNode(text));
    rampLegend.append(item);
    lower = upper + 1;
  });
}

function describe(commune) {
  return t("map.commune_detail", {
    name: commune.name,
    insee: commune.insee,
    count: fmt(commune.count),
    population: fmt(commune.population),
  });
}

function highlightRow(insee) {
  for (const row of document.querySelectorAll("tr[data-insee]")) {
    row.classList.toggle("is-highlighted", row.dataset.insee === insee);
  }
}

export function showCommune(commune, byKeyboard) {
  focusLayer.replaceChildren();
  if (!commune) {
    if (detail) {
      detail.textContent = hint;
      detail.classList.add("is-hint");
    }
    highlightRow(null);
    return;
  }
  const outline = document.createElementNS(SVG_NS, "path");
  outline.setAttribute("d", commune.path.getAttribute("d") || "");
  if (byKeyboard) {
    outline.setAttribute("class", "is-focus");
  }
  focusLayer.append(outline);
  if (detail) {
    detail.textContent = describe(commune);
    detail.classList.remove("is-hint");
  }
  highlightRow(commune.insee);
}

export function buildCommunes(collection) {
  const features = (collection && collection.features) || [];
  state.communes = features
    .map(function (feature) {
      const props = feature.properties || {};
      return {
        insee: String(props.insee || feature.id || ""),
        name: String(props.name || props.insee || ""),
        population: Number(props.population) || 0,
        centre: Array.isArray(props.centre) && props.centre.length === 2 ? props.centre : null,
        count: 0,
        rings: ringsOf(feature.geometry),
        path: null,
        title: null,
      };
    })
    .filter(function (commune) {
      return commune.rings.length > 0;
    });
  state.communes.sort(function (a, b) {
    return a.name.localeCompare(b.name, lang);
  });
  state.bounds = boundsOf(state.communes);
  if (state.bounds) {
    const b = state.bounds;
    const ratio = ((b.maxLon - b.minLon) * b.k) / Math.max(b.maxLat - b.minLat, 1e-9);
    root.style.setProperty("--map-ratio", String(Math.min(2, Math.max(0.6, ratio))));
  }

  communesLayer.replaceChildren();
  state.communes.forEach(function (commune, index) {
    const path = document.createElementNS(SVG_NS, "path");
    const title = document.createElementNS(SVG_NS, "title");
    path.setAttribute("role", "img");
    path.setAttribute("tabindex", index === 0 ? "0" : "-1");
    path.dataset.index = String(index);
    path.append(title);
    commune.path = path;
    commune.title = title;
    path.addEventListener("pointerenter", function () {
      showCommune(commune, false);
    });
    path.addEventListener("pointerleave", function () {
      showCommune(state.focused, true);
    });
    path.addEventListener("focus", function () {
      state.focused = commune;
      for (const other of state.communes) {
        other.path.setAttribute("tabindex", other === commune ? "0" : "-1");
      }
      showCommune(commune, true);
    });
    path.addEventListener("blur", function () {
      state.focused = null;
      showCommune(null, false);
    });
    communesLayer.append(path);
  });
  labelCommunes();
}

export function labelCommunes() {
  for (const commune of state.communes) {
    const text = describe(commune);
    commune.title.textContent = text;
    commune.path.setAttribute("aria-label", text);
  }
}

// Arrow keys move between communes (one tab stop for the whole map), in alphabetical order.
export function onMapKey(event) {
  const target = event.target;
  if (!target || !target.dataset || target.dataset.index === undefined) {
    return;
  }
  const count = state.communes.length;
  let index = Number(target.dataset.index);
  switch (event.key) {
    case "ArrowRight":
    case "ArrowDown":
      index = (index + 1) % count;
      break;
    case "ArrowLeft":
    case "ArrowUp":
      index = (index - 1 + count) % count;
      break;
    case "Home":
      index = 0;
      break;
    case "End":
      index = count - 1;
      break;
    default:
      return;
  }
  event.preventDefault();
  state.communes[index].path.focus();
}

// Names of the communes, the most populated first, skipping any that would overlap another.
export function placeLabels() {
  labelLayer.replaceChildren();
  if (state.width < 420) {
    return; // too small to read: the names are on hover, on focus and in the table
  }
  const placed = [];
  const byPopulation = state.communes.slice().sort(function (a, b) {
    return b.population - a.population;
  });
  for (const commune of byPopulation) {
    const anchor = anchorOf(commune, state.projection);
    if (!anchor) {
      continue;
    }
    const text = document.createElementNS(SVG_NS, "text");
    text.setAttribute("x", anchor[0].toFixed(1));
    text.setAttribute("y", anchor[1].toFixed(1));
    text.textContent = commune.name;
    labelLayer.append(text);
    const box = text.getBBox();
    const gapX = 8; // the white halo is not in the bounding box
    const gapY = 2;
    const clash = placed.some(function (other) {
      return boxesClash(box, other, gapX, gapY);
    });
    const outside =
      box.x < 0 || box.y < 0 || box.x + box.width > state.width || box.y + box.height > state.height;
    if (clash || outside) {
      text.remove();
    } else {
      placed.push(box);
    }
  }
}
