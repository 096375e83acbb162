// The read API (docs/viewer.md), as the pages use it.
import { enc } from "./dom.js";

// Run documents are JSON as Python writes it: NaN, Infinity and -Infinity may appear as bare
// words, which JSON.parse rejects. They are swapped for marked strings outside string literals,
// then turned back into numbers. (The marker starts with U+0000 and a random tail: no string
// in the data can be mistaken for it.)
const BARE = /"(?:[^"\\]|\\.)*"|-?Infinity|NaN/g;

export function parseJSON(text) {
  if (!/NaN|Infinity/.test(text)) return JSON.parse(text);
  const mark = "\u0000nonfinite" + Math.random().toString(36).slice(2);
  const marked = text.replace(BARE, (m) => (m[0] === '"' ? m : JSON.stringify(mark + m)));
  return JSON.parse(marked, (k, v) => (typeof v === "string" && v.startsWith(mark) ? Number(v.slice(mark.length)) : v));
}

/** "NaN", "Infinity", "-Infinity" (the viewer's own endpoints) -> numbers. */
export function toNumber(v) {
  return typeof v === "number" ? v : Number(v);
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function getJSON(url, { signal } = {}) {
  const r = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", signal });
  const text = await r.text();
  if (r.status === 401) {
    location.assign(`/login?next=${enc(location.pathname + location.search)}`);
    throw new ApiError(401, "log in first");
  }
  if (!r.ok) {
    let message = `${r.status} ${r.statusText}`;
    try {
      message = parseJSON(text).error || message;
    } catch {
      /* not JSON: keep the status line */
    }
    throw new ApiError(r.status, message);
  }
  return parseJSON(text);
}

export function runBase(project, id) {
  return `/api/v1/runs/${enc(project)}/${enc(id)}`;
}

/** The URL of a media file, from its path relative to the run (media/<sha256>.<ext>). */
export function fileUrl(project, id, path) {
  return `${runBase(project, id)}/file/${String(path).split("/").map(enc).join("/")}`;
}

// A run on a server whose document has not arrived yet (`localrun sync` sends it last) has
// state null there (docs/protocol.md): the viewer shows it as "syncing".
const withState = (doc) => (doc && doc.state == null ? { ...doc, state: "syncing" } : doc);

export const listRuns = async () => (await getJSON("/api/v1/runs")).map(withState);
export const getRun = async (p, id) => withState(await getJSON(runBase(p, id)));
export const getKeys = (p, id) => getJSON(`${runBase(p, id)}/keys`);

export function getMedia(p, id, key, points) {
  const q = new URLSearchParams({ key });
  if (points) q.set("points", String(points));
  return getJSON(`${runBase(p, id)}/media?${q}`);
}

/**
 * Series of several keys of one run: {key: {x: [...], y: [numbers, NaN, ±Infinity], count, sampled}}.
 * Keys are sent one `key=` each, so a key may hold a comma.
 */
export async function getSeries(p, id, keys, { x = "_step", points = 2000, min = null, max = null, signal } = {}) {
  const q = new URLSearchParams();
  for (const k of keys) q.append("key", k);
  q.set("x", x);
  q.set("points", String(points));
  if (min != null) q.set("min", String(min));
  if (max != null) q.set("max", String(max));
  const out = await getJSON(`${runBase(p, id)}/series?${q}`, { signal });
  for (const s of Object.values(out.series)) s.y = s.y.map(toNumber);
  return out.series;
}
