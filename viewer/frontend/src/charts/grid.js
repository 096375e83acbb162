// Charts for many keys, grouped in sections by prefix ("train/", "val/"), for one run or
// several overlaid (the compare page). A chart is made only when it scrolls into view; the
// series of the charts that come into view together are fetched in one request per run.
import { getSeries } from "../api.js";
import { groupBySection, h } from "../dom.js";
import { Chart } from "./chart.js";

export const POINTS = 2000;
const BATCH_KEYS = 50;

// Distinct colours, one per run (the compare page).
export const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"];

/** fnmatch-style: "val/*" matches "val/loss". */
function globMatch(pattern, key) {
  const re = new RegExp("^" + pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*") + "$");
  return re.test(key);
}

/** The define_metric step metric of `key` in a run document's `metrics`, if any. */
export function stepMetricOf(metrics, key) {
  if (!metrics) return null;
  const exact = metrics[key];
  if (exact && typeof exact.step_metric === "string" && exact.step_metric) return exact.step_metric;
  for (const [pattern, spec] of Object.entries(metrics)) {
    if (pattern.includes("*") && globMatch(pattern, key) && spec && typeof spec.step_metric === "string" && spec.step_metric) {
      return spec.step_metric;
    }
  }
  return null;
}

export class ChartGrid {
  /**
   * runs: [{project, id, label, color, metrics}]; options: {x: "auto" | name, smoothing, log}.
   */
  constructor(root, runs, options) {
    this.root = root;
    this.runs = runs;
    this.options = { ...options };
    this.entries = new Map(); // key -> {key, el, head, chart, visible, series, zoom, stale}
    this.sections = new Map(); // section name -> grid element
    this.queue = new Set();
    this.flushTimer = null;
    this.observer = new IntersectionObserver((items) => this.onVisible(items), { rootMargin: "300px" });
  }

  xFor(key) {
    if (this.options.x !== "auto") return this.options.x;
    for (const r of this.runs) {
      const m = stepMetricOf(r.metrics, key);
      if (m && m !== key) return m;
    }
    return "_step";
  }

  /** Add charts for keys not shown yet (keys only ever get added while a run is written). */
  setKeys(keys) {
    const fresh = keys.filter((k) => !this.entries.has(k));
    for (const [section, list] of groupBySection(fresh)) {
      let grid = this.sections.get(section);
      if (!grid) {
        grid = h("div", { class: "chart-grid" });
        const title = section === "" ? "Charts" : section;
        this.root.append(h("details", { class: "section", open: true, "data-section": section }, h("summary", null, title), grid));
        this.sections.set(section, grid);
      }
      for (const key of list) {
        const head = h("div", { class: "chart-head" }, h("span", { class: "chart-title" }, key), h("span", { class: "chart-info muted" }));
        const body = h("div", { class: "chart-body" });
        const el = h("div", { class: "chart", "data-key": key }, head, body);
        grid.appendChild(el);
        const entry = { key, el, body, head, chart: null, visible: false, series: null, zoom: null };
        this.entries.set(key, entry);
        this.observer.observe(el);
      }
    }
  }

  setOptions(options) {
    const xChanged = options.x !== this.options.x;
    this.options = { ...this.options, ...options };
    for (const e of this.entries.values()) {
      if (e.chart) {
        e.chart.destroy();
        e.chart = null;
      }
      if (xChanged) {
        e.series = null;
        e.zoom = null;
      }
      if (e.visible) (e.series ? this.draw(e) : this.want(e.key));
    }
  }

  /** Fetch again what is on screen (a running run grew). Zoomed charts keep their window. */
  refresh() {
    for (const e of this.entries.values()) {
      if (e.visible && !e.zoom) this.want(e.key);
      else if (!e.visible) e.series = null; // fetched when it comes into view
    }
  }

  onVisible(items) {
    for (const it of items) {
      const e = this.entries.get(it.target.getAttribute("data-key"));
      if (!e) continue;
      e.visible = it.isIntersecting;
      if (e.visible && !e.series) this.want(e.key);
      else if (e.visible && !e.chart) this.draw(e);
    }
  }

  want(key) {
    this.queue.add(key);
    clearTimeout(this.flushTimer);
    this.flushTimer = setTimeout(() => this.flush(), 20);
  }

  async flush() {
    const keys = [...this.queue];
    this.queue.clear();
    // One request per run, x axis and zoom window, at most BATCH_KEYS keys each.
    const groups = new Map();
    for (const key of keys) {
      const e = this.entries.get(key);
      const x = this.xFor(key);
      const g = `${x}\u0000${e.zoom ? `${e.zoom.min},${e.zoom.max}` : ""}`;
      if (!groups.has(g)) groups.set(g, { x, zoom: e.zoom, keys: [] });
      groups.get(g).keys.push(key);
    }
    const jobs = [];
    for (const { x, zoom, keys: list } of groups.values()) {
      for (let i = 0; i < list.length; i += BATCH_KEYS) {
        jobs.push(this.fetchGroup(list.slice(i, i + BATCH_KEYS), x, zoom));
      }
    }
    await Promise.all(jobs);
  }

  async fetchGroup(keys, x, zoom) {
    const opts = { x, points: POINTS, min: zoom ? zoom.min : null, max: zoom ? zoom.max : null };
    let perRun;
    try {
      perRun = await Promise.all(this.runs.map((r) => getSeries(r.project, r.id, keys, opts)));
    } catch (err) {
      for (const key of keys) {
        const e = this.entries.get(key);
        if (e) e.head.lastChild.textContent = String(err.message || err);
      }
      return;
    }
    for (const key of keys) {
      const e = this.entries.get(key);
      if (!e || this.xFor(key) !== x) continue; // the x axis changed meanwhile
      const same = (e.zoom && zoom && e.zoom.min === zoom.min && e.zoom.max === zoom.max) || (!e.zoom && !zoom);
      if (!same) continue; // zoomed again meanwhile: a newer request is on its way
      e.series = perRun.map((series) => series[key] || { x: [], y: [], count: 0, sampled: false });
      this.draw(e);
    }
  }

  draw(e) {
    const total = e.series.reduce((n, s) => n + s.count, 0);
    const shown = e.series.reduce((n, s) => n + s.x.length, 0);
    e.head.lastChild.textContent = shown < total ? `${shown.toLocaleString()} of ${total.toLocaleString()} points` : "";
    // What is drawn, for a reader of the page (and its tests): points shown, and in the range.
    e.el.setAttribute("data-points", String(shown));
    e.el.setAttribute("data-count", String(total));
    if (e.chart) {
      e.chart.update(e.series, e.zoom);
      return;
    }
    e.chart = new Chart(e.body, {
      key: e.key,
      xName: this.xFor(e.key),
      runs: this.runs,
      series: e.series,
      smoothing: this.options.smoothing,
      log: this.options.log,
      onZoom: (min, max) => {
        e.zoom = min == null ? null : { min, max };
        this.want(e.key);
      },
    });
    if (e.zoom) e.chart.update(e.series, e.zoom);
  }

  destroy() {
    clearTimeout(this.flushTimer);
    this.observer.disconnect();
    for (const e of this.entries.values()) if (e.chart) e.chart.destroy();
  }
}

/** The controls above the charts: x axis, smoothing, log scale. onChange(options). */
export function chartControls(options, xChoices, onChange) {
  const opts = { ...options };
  const xSelect = h(
    "select",
    { "aria-label": "x axis", onchange: (e) => ((opts.x = e.target.value), onChange({ ...opts })) },
    h("option", { value: "auto", selected: opts.x === "auto" }, "x: step (or define_metric's)"),
    xChoices.map((x) => h("option", { value: x, selected: opts.x === x }, `x: ${x}`)),
  );
  const value = h("span", { class: "muted" }, opts.smoothing ? String(opts.smoothing) : "off");
  const smooth = h("input", {
    type: "range",
    min: "0",
    max: "0.99",
    step: "0.01",
    value: String(opts.smoothing || 0),
    "aria-label": "smoothing",
    oninput: (e) => (value.textContent = Number(e.target.value) ? e.target.value : "off"),
    onchange: (e) => ((opts.smoothing = Number(e.target.value)), onChange({ ...opts })),
  });
  const log = h("input", {
    type: "checkbox",
    checked: !!opts.log,
    onchange: (e) => ((opts.log = e.target.checked), onChange({ ...opts })),
  });
  return h(
    "div",
    { class: "toolbar chart-controls" },
    xSelect,
    h("label", null, "smoothing ", smooth, " ", value),
    h("label", null, log, " log scale"),
    h("span", { class: "muted hint" }, "drag to zoom, double-click to zoom out"),
  );
}

const OPTIONS_KEY = "localrun.chart.options";

export function loadOptions() {
  try {
    const o = JSON.parse(localStorage.getItem(OPTIONS_KEY) || "{}");
    return { x: "auto", smoothing: Number(o.smoothing) || 0, log: !!o.log };
  } catch {
    return { x: "auto", smoothing: 0, log: false };
  }
}

export function saveOptions(o) {
  localStorage.setItem(OPTIONS_KEY, JSON.stringify({ smoothing: o.smoothing, log: o.log }));
}
