/* The report form's improvements (the form works without them): only the chosen category's
   questions, a character counter, photo previews, and large photos shrunk on the phone before
   they are sent (which also drops their EXIF). */

const SHRINK_ABOVE_BYTES = 1500000;
const SHRINK_LONGEST_SIDE = 2048;

/** Show the chosen category's questions (the others disabled, so not sent) and its description. */
export function initCategory(config) {
  const select = document.getElementById("report-category");
  if (!select) return;
  const sets = Array.from(document.querySelectorAll("[data-question-set]"));
  const container = document.getElementById("report-questions");
  const hint = document.getElementById("questions-hint");
  const description = document.getElementById("category-description");
  const descriptions = config.descriptions || {};
  if (hint) hint.hidden = true;

  function update() {
    let shown = false;
    for (const set of sets) {
      const on = set.dataset.questionSet === select.value;
      shown = shown || on;
      set.hidden = !on;
      for (const input of set.querySelectorAll("input, select, textarea")) {
        input.disabled = !on;
        if (input.dataset.required === "true") input.required = on;
      }
    }
    if (container) container.hidden = !shown;
    if (description) description.textContent = descriptions[select.value] || "";
  }

  select.addEventListener("change", update);
  update();
}

export function initCounter(config, t) {
  const area = document.getElementById("report-description");
  const counter = document.getElementById("description-count");
  if (!area || !counter) return;
  const max = Number(area.getAttribute("maxlength")) || config.maxDescription || 4000;

  function update() {
    const count = area.value.length;
    counter.textContent = t("rmap.chars", { count: count, max: max });
    counter.classList.toggle("is-near", count > max * 0.9);
  }

  area.addEventListener("input", update);
  update();
}

function keepFiles(input, files) {
  if (typeof DataTransfer === "undefined") return false;
  try {
    const transfer = new DataTransfer();
    for (const file of files) transfer.items.add(file);
    input.files = transfer.files;
    return true;
  } catch {
    return false;
  }
}

/** A large photo drawn again at most SHRINK_LONGEST_SIDE pixels long, as JPEG; the original
    when that is not smaller. */
async function shrink(file) {
  const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  const scale = Math.min(1, SHRINK_LONGEST_SIDE / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(bitmap.width * scale));
  canvas.height = Math.max(1, Math.round(bitmap.height * scale));
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  if (bitmap.close) bitmap.close();
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
  if (!blob || blob.size >= file.size) return file;
  const name = (file.name || "photo").replace(/\.[^.]*$/, "") + ".jpg";
  return new File([blob], name, { type: "image/jpeg" });
}

/** Whether a photo is worth shrinking before it is sent. */
export function worthShrinking(file) {
  return file.size > SHRINK_ABOVE_BYTES && /^image\/(jpeg|png|webp)$/.test(file.type);
}

function previewer(input, previews) {
  let urls = [];
  return function showPreviews() {
    for (const url of urls) URL.revokeObjectURL(url);
    urls = [];
    if (!previews) return;
    previews.replaceChildren();
    for (const file of Array.from(input.files || [])) {
      if (!/^image\//.test(file.type)) continue;
      const url = URL.createObjectURL(file);
      urls.push(url);
      const item = document.createElement("li");
      const image = document.createElement("img");
      image.src = url;
      image.alt = "";
      item.append(image);
      previews.append(item);
    }
  };
}

// Shrink the large photos, then send the form again (for good this time).
function shrinkThenSubmit(form, input, submit, files, large) {
  Promise.all(files.map((file) => (large.includes(file) ? shrink(file).catch(() => file) : Promise.resolve(file))))
    .then((ready) => {
      keepFiles(input, ready);
    })
    .catch(() => {
      /* send the photos as they are */
    })
    .finally(() => {
      form.dataset.ready = "true";
      if (submit) submit.disabled = false;
      if (form.requestSubmit) form.requestSubmit(submit || undefined);
      else form.submit();
    });
}

function onSubmit(event, form, input, submit, status, t) {
  if (form.dataset.ready === "true") {
    // Sent for good: a second tap must not send the report twice.
    window.setTimeout(() => {
      if (submit) submit.disabled = true;
    }, 0);
    return;
  }
  const files = Array.from(input.files || []);
  const large = files.filter(worthShrinking);
  if (!large.length || typeof DataTransfer === "undefined" || !window.createImageBitmap) {
    form.dataset.ready = "true";
    return;
  }
  event.preventDefault();
  if (submit) submit.disabled = true;
  if (status) status.textContent = t("rmap.preparing");
  shrinkThenSubmit(form, input, submit, files, large);
}

export function initPhotos(config, t) {
  const input = document.getElementById("report-photos");
  const form = document.getElementById("report-form");
  if (!input || !form) return;
  const max = Number(input.dataset.max) || config.maxPhotos || 5;
  const status = document.getElementById("photos-status");
  const submit = document.getElementById("report-submit");
  const showPreviews = previewer(input, document.getElementById("photo-previews"));

  input.addEventListener("change", () => {
    const files = Array.from(input.files || []);
    if (status) status.textContent = "";
    if (files.length > max) {
      keepFiles(input, files.slice(0, max));
      if (status) status.textContent = t("rmap.too_many_photos", { max: max });
    }
    showPreviews();
  });
  form.addEventListener("submit", (event) => onSubmit(event, form, input, submit, status, t));
}

export function focusErrors() {
  const errors = document.getElementById("report-errors");
  if (errors) errors.focus();
}

/** A coordinate typed by hand: a comma or a dot for decimals, a minus sign or a hyphen. */
export function parseNumber(text) {
  const cleaned = String(text || "")
    .trim()
    .replace(",", ".")
    .replace("\u2212", "-");
  if (!cleaned) return NaN;
  return Number(cleaned);
}
