/* What every page's script shares: the words of the page's language, requests to the JSON API
   (session cookie, X-CSRF-Token on changes, the API's errors as ApiError), and numbers, percentages
   and dates written the way the page's language writes them (Intl: "1 234,5" and "100,0 %" in
   French). No DOM is touched here except to read the page's CSRF token; node's test runner
   imports this module as it is. */

// ---- Words ------------------------------------------------------------------------------------

/** The page's language, "en" or "fr": the root element's data-lang, else <html lang>. */
export function pageLanguage(root) {
  const declared = (root && root.dataset && root.dataset.lang) || "";
  const fallback = typeof document !== "undefined" ? document.documentElement.lang : "";
  return (declared || fallback || "en").toLowerCase().startsWith("fr") ? "fr" : "en";
}

/** A JSON object read from a data attribute or a data island; {} when absent or malformed. */
export function readJSON(text) {
  if (!text) return {};
  try {
    const value = JSON.parse(text);
    return value && typeof value === "object" ? value : {};
  } catch {
    return {};
  }
}

/**
 * The translation helpers over the page's messages (key → text with {name} placeholders):
 * t(key, values) fills the placeholders it is given and leaves the others as written; a key the
 * page did not pass reads as itself (visible, never blank). lookup(key) is the text or undefined.
 */
export function translator(messages) {
  const table = messages || {};
  const own = (object, key) => Object.prototype.hasOwnProperty.call(object, key);
  const lookup = (key) => (own(table, key) ? String(table[key]) : undefined);
  function t(key, values) {
    const template = own(table, key) ? String(table[key]) : key;
    return template.replace(/\{(\w+)\}/g, (match, name) =>
      values && own(values, name) ? String(values[name]) : match
    );
  }
  return { t, lookup };
}

// ---- Numbers and dates ------------------------------------------------------------------------

/** The locale Intl formats with: French of France, or British English (day before month). */
export function localeOf(lang) {
  return lang === "fr" ? "fr-FR" : "en-GB";
}

/**
 * The page's formatters: number (grouped), decimal (fixed digits), percent (a value out of 100,
 * e.g. percent(99.5) → "99.5%" / "99,5 %") and dateTime (an ISO text in the platform's time zone,
 * "—" when missing or invalid).
 */
export function formatters(lang, timeZone) {
  const locale = localeOf(lang);
  const numbers = new Intl.NumberFormat(locale);
  const fixed = new Map();
  const fixedFormat = (style, digits) => {
    const key = style + digits;
    if (!fixed.has(key)) {
      fixed.set(key, new Intl.NumberFormat(locale, { style, minimumFractionDigits: digits, maximumFractionDigits: digits }));
    }
    return fixed.get(key);
  };
  const dates = new Intl.DateTimeFormat(locale, {
    timeZone: timeZone || "Europe/Paris",
    day: "2-digit",
    month: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
  return {
    number: (value) => numbers.format(value),
    decimal: (value, digits) => fixedFormat("decimal", digits).format(value),
    percent: (value, digits = 1) => fixedFormat("percent", digits).format(value / 100),
    dateTime(iso) {
      if (!iso) return "—";
      const date = new Date(iso);
      return isNaN(date) ? "—" : dates.format(date);
    },
  };
}

// ---- Requests ---------------------------------------------------------------------------------

/** An answer of the API that is not a success: its message, its error code, its HTTP status. */
export class ApiError extends Error {
  constructor(message, code, status) {
    super(message);
    this.name = "ApiError";
    this.code = code || "";
    this.status = status;
  }
}

/** The session's CSRF token, from <meta name="csrf-token"> ("" on a page without a session). */
export function csrfToken() {
  if (typeof document === "undefined") return "";
  const meta = document.querySelector('meta[name="csrf-token"]');
  return (meta && meta.getAttribute("content")) || "";
}

function detailText(detail) {
  // FastAPI's validation errors are a list of {loc, msg}: say their messages.
  if (Array.isArray(detail)) return detail.map((d) => (d && d.msg) || String(d)).join("; ");
  return detail ? String(detail) : "";
}

/** The ApiError an unsuccessful response stands for: the API's {error: {code, message}}, else
    FastAPI's {detail}, else the HTTP status text. */
export async function failure(response) {
  const fallback = response.statusText || String(response.status);
  let body;
  try {
    body = await response.json();
  } catch {
    return new ApiError(fallback, "", response.status);
  }
  const error = body && body.error;
  if (error) return new ApiError(error.message || error.code || fallback, error.code, response.status);
  const message = (body && (detailText(body.detail) || body.message)) || fallback;
  return new ApiError(message, "", response.status);
}

async function answerOf(response) {
  if (!response.ok) throw await failure(response);
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  return type.includes("json") ? response.json() : null;
}

/** GET a JSON answer (an AbortSignal may cancel it; fetch then throws its AbortError). */
export async function getJSON(url, signal, accept) {
  const response = await fetch(url, {
    headers: { Accept: accept || "application/json" },
    credentials: "same-origin",
    signal,
  });
  if (!response.ok) throw await failure(response);
  return response.json();
}

/** POST a JSON body with the CSRF token; the JSON answer, or null when there is none. */
export async function postJSON(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrfToken() },
    credentials: "same-origin",
    body: JSON.stringify(body || {}),
  });
  return answerOf(response);
}

/** POST a form (files) with the CSRF token; the JSON answer, or null when there is none. */
export async function postForm(url, form) {
  const response = await fetch(url, {
    method: "POST",
    headers: { Accept: "application/json", "X-CSRF-Token": csrfToken() },
    credentials: "same-origin",
    body: form,
  });
  return answerOf(response);
}

/** A URL with query parameters, leaving out those null, undefined or empty. */
export function query(base, params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== null && value !== undefined && value !== "") search.set(name, value);
  }
  const text = search.toString();
  return text ? base + (base.includes("?") ? "&" : "?") + text : base;
}

/** True for the error fetch throws when its request was cancelled on purpose. */
export function isAbort(error) {
  return Boolean(error) && error.name === "AbortError";
}
