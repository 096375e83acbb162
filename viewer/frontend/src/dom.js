// Building the DOM, escape by construction: text goes in as text nodes, attributes through
// setAttribute, listeners through addEventListener. Nothing here (or anywhere in the viewer)
// assigns innerHTML, so a run's strings can never become markup.

/**
 * h("a", {href, class: "x", onclick: fn}, "text", child, [more]) -> element.
 * Strings and numbers become text nodes; null/undefined/false are skipped; arrays are flattened.
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value == null || value === false) continue;
    if (key.startsWith("on")) {
      if (typeof value !== "function") throw new TypeError(`${key} must be a function`);
      el.addEventListener(key.slice(2), value);
    } else if (key === "class") {
      el.className = value;
    } else if (key === "text") {
      el.textContent = String(value);
    } else if (key === "value" || key === "checked" || key === "selected" || key === "disabled") {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children) {
    if (child == null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/** An <a> to one of the viewer's own pages (handled by the router without a reload). */
export function link(href, ...children) {
  return h("a", { href, "data-route": "" }, ...children);
}

export const enc = encodeURIComponent;

export function runPath(project, id) {
  return `/runs/${enc(project)}/${enc(id)}`;
}

// --- formatting (all return plain strings, for textContent) ---------------------------------

export function fmtNumber(v) {
  if (typeof v !== "number") return String(v);
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "Infinity";
  if (v === -Infinity) return "-Infinity";
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-4 || a >= 1e9)) return v.toExponential(4).replace(/\.?0+e/, "e");
  return String(Number(v.toPrecision(6)));
}

export function fmtValue(v, max = 120) {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return fmtNumber(v);
  if (typeof v === "string") return v.length > max ? v.slice(0, max) + "…" : v;
  if (typeof v === "boolean") return String(v);
  if (typeof v === "object" && !Array.isArray(v) && typeof v._type === "string") return `[${v._type}]`;
  const s = JSON.stringify(v, (k, x) => (typeof x === "number" && !Number.isFinite(x) ? fmtNumber(x) : x));
  return s.length > max ? s.slice(0, max) + "…" : s;
}

export function fmtTime(seconds) {
  if (typeof seconds !== "number" || !Number.isFinite(seconds)) return "";
  const d = new Date(seconds * 1000);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function fmtDuration(seconds) {
  if (typeof seconds !== "number" || !Number.isFinite(seconds)) return "";
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)}s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m}m ${Math.floor(seconds % 60)}s`;
  const hrs = Math.floor(m / 60);
  if (hrs < 48) return `${hrs}h ${m % 60}m`;
  return `${Math.floor(hrs / 24)}d ${hrs % 24}h`;
}

/** Nested config/summary objects as dotted keys: {a: {b: 1}} -> {"a.b": 1}; media values kept whole. */
export function flatten(obj, prefix = "", out = {}) {
  for (const [k, v] of Object.entries(obj || {})) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === "object" && !Array.isArray(v) && typeof v._type !== "string" && Object.keys(v).length) {
      flatten(v, key, out);
    } else {
      out[key] = v;
    }
  }
  return out;
}

/** A key/value table (config, summary): keys and values as text. */
export function kvTable(obj, { empty = "none" } = {}) {
  const entries = Object.entries(obj);
  if (!entries.length) return h("p", { class: "muted" }, empty);
  return h(
    "table",
    { class: "kv" },
    h(
      "tbody",
      null,
      entries.map(([k, v]) => h("tr", null, h("th", null, k), h("td", null, fmtValue(v, 400)))),
    ),
  );
}

export function stateBadge(state) {
  const s = state || "unknown";
  return h("span", { class: `state state-${/^[a-z]+$/.test(s) ? s : "unknown"}` }, s);
}

/** Section name of a key: the part before its first "/" ("train/loss" -> "train"). */
export function sectionOf(key) {
  const i = key.indexOf("/");
  return i > 0 ? key.slice(0, i) : "";
}

export function groupBySection(keys) {
  const groups = new Map();
  for (const k of keys) {
    const s = sectionOf(k);
    if (!groups.has(s)) groups.set(s, []);
    groups.get(s).push(k);
  }
  // Keys without a prefix first (as wandb's "Charts"), then sections by name.
  return [...groups.entries()].sort((a, b) => (a[0] === "" ? -1 : b[0] === "" ? 1 : a[0].localeCompare(b[0])));
}

export function debounce(fn, ms) {
  let t = null;
  return (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
}
