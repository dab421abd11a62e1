/* The teams' work orders page (/orders): the offline map of the communes with a dot per order,
   and the buttons of the next steps, which call the JSON API with the session's CSRF token and
   then reload the list. Data come from the page's JSON island (no inline script). */
import { ringsOf } from "./js/geo.js";
import { getJSON, postForm, postJSON, readJSON, translator } from "./js/shared.js";

const island = document.getElementById("orders-config");
const config = readJSON(island && island.textContent);
const { t } = translator(config.messages);
const status = document.getElementById("orders-status");

function say(text) {
  if (status) status.textContent = text;
}

// ---- The map ------------------------------------------------------------------------------

function drawMap(collection) {
  const box = document.getElementById("omap");
  if (!box) return;
  const svg = box.querySelector("svg");
  // The SVG namespace, read from the page's own <svg> (no address written here: the page
  // fetches nothing from outside).
  const SVG = svg.namespaceURI;
  const features = (collection && collection.features) || [];
  const orders = (config.orders || []).filter((o) => o.lon !== null && o.lat !== null);
  let west = Infinity, east = -Infinity, south = Infinity, north = -Infinity;
  const extend = (lon, lat) => {
    west = Math.min(west, lon); east = Math.max(east, lon);
    south = Math.min(south, lat); north = Math.max(north, lat);
  };
  for (const feature of features) {
    for (const ring of ringsOf(feature.geometry)) for (const [lon, lat] of ring) extend(lon, lat);
  }
  for (const o of orders) extend(o.lon, o.lat);
  if (!isFinite(west) || east === west || north === south) return;
  const k = Math.cos(((north + south) / 2) * Math.PI / 180);
  const width = 1000;
  const height = Math.max(200, Math.round(width * (north - south) / ((east - west) * k)));
  const x = (lon) => ((lon - west) / (east - west)) * width;
  const y = (lat) => ((north - lat) / (north - south)) * height;
  svg.setAttribute("viewBox", `-10 -10 ${width + 20} ${height + 20}`);
  for (const feature of features) {
    const d = ringsOf(feature.geometry)
      .map((ring) => "M" + ring.map(([lon, lat]) => `${x(lon).toFixed(1)},${y(lat).toFixed(1)}`).join("L") + "Z")
      .join("");
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", d);
    path.setAttribute("class", "omap__commune");
    const title = document.createElementNS(SVG, "title");
    title.textContent = (feature.properties && feature.properties.name) || "";
    path.appendChild(title);
    svg.appendChild(path);
  }
  for (const o of orders) {
    const link = document.createElementNS(SVG, "a");
    link.setAttribute("href", `#order-${o.id}`);
    const dot = document.createElementNS(SVG, "circle");
    dot.setAttribute("cx", x(o.lon).toFixed(1));
    dot.setAttribute("cy", y(o.lat).toFixed(1));
    dot.setAttribute("r", "14");
    dot.setAttribute("class", `omap__dot state-${o.state}`);
    const title = document.createElementNS(SVG, "title");
    title.textContent = t("orders.number", { id: o.id }) + " · " + t("orders.state." + o.state);
    dot.appendChild(title);
    link.appendChild(dot);
    link.addEventListener("click", (event) => {
      event.preventDefault();
      const card = document.getElementById(`order-${o.id}`);
      if (card) {
        card.scrollIntoView({ behavior: "smooth", block: "start" });
        card.classList.add("order--picked");
        window.setTimeout(() => card.classList.remove("order--picked"), 1500);
      }
    });
    svg.appendChild(link);
  }
  box.hidden = false;
}

async function loadMap() {
  try {
    drawMap(await getJSON(config.communesUrl, undefined, "application/geo+json, application/json"));
  } catch {
    /* The list works without the map. */
  }
}

// ---- The steps ----------------------------------------------------------------------------

function photoForm(orderId) {
  const input = document.getElementById(`photos-${orderId}`);
  if (!input || !input.files || input.files.length === 0) return null;
  const form = new FormData();
  for (const file of Array.from(input.files).slice(0, 5)) form.append("photos", file);
  return form;
}

async function act(button) {
  const orderId = button.dataset.order;
  const step = button.dataset.step;
  const base = `${config.apiBase}/${encodeURIComponent(orderId)}`;
  let note = null;
  if (step === "refuse") {
    note = window.prompt(t("orders.refuse_prompt"));
    if (note === null || !note.trim()) return;
  }
  if (step === "done") {
    const field = document.getElementById(`note-${orderId}`);
    note = field ? field.value.trim() : "";
    if (!note) {
      say(t("orders.note_required"));
      if (field) field.focus();
      return;
    }
  }
  const photos = photoForm(orderId);
  if (step === "photos" && !photos) {
    say(t("orders.no_photo"));
    return;
  }
  const buttons = document.querySelectorAll(`button[data-order="${orderId}"]`);
  buttons.forEach((b) => { b.disabled = true; });
  say(t("orders.working"));
  try {
    if (step === "done" && photos) await postForm(`${base}/photos`, photos);
    if (step === "photos") {
      await postForm(`${base}/photos`, photos);
    } else {
      await postJSON(`${base}/${step}`, { note });
    }
    window.location.reload();
  } catch (error) {
    say(t("orders.failed", { message: error.message }));
    buttons.forEach((b) => { b.disabled = false; });
  }
}

if (island) {
  document.addEventListener("click", (event) => {
    const button = event.target.closest("button.order__step");
    if (button) act(button);
  });
  loadMap();
}
