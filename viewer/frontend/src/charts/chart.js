// One chart: a key's series for one or more runs, drawn with uPlot.
//
// NaN and ±Infinity are not lines: each is drawn as a mark in its run's colour at its x (NaN as
// a cross on the bottom edge, +Infinity a triangle on the top edge, -Infinity a triangle on the
// bottom edge), and the hover legend names them. Dragging across the chart zooms in (the grid
// then fetches that range at full resolution); a double click zooms back out.
import uPlot from "uplot";
import { fmtDuration, fmtNumber, fmtTime } from "../dom.js";
import { ema } from "./smooth.js";

const HEIGHT = 220;

function kindOf(v) {
  return Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
}

function xFormatter(xName) {
  if (xName === "_timestamp") return (v) => fmtTime(v);
  if (xName === "_runtime") return (v) => fmtDuration(v);
  return (v) => fmtNumber(v);
}

/**
 * Build the uPlot data: one x column (the union of the runs' x values) and, per run, its
 * values (null where it has none, or where the value is not finite: those become marks).
 */
function buildData(runs, series, { smoothing, log }) {
  const tables = [];
  const columns = []; // per uPlot series after x: {run, smoothed}
  const marks = []; // per run: [{x, kind}]
  const odd = []; // per run: Map x -> kind, for the legend
  runs.forEach((run, i) => {
    const s = series[i] || { x: [], y: [] };
    const m = [];
    const byX = new Map();
    const y = s.y.map((v, j) => {
      if (!Number.isFinite(v)) {
        m.push({ x: s.x[j], kind: kindOf(v) });
        byX.set(s.x[j], kindOf(v));
        return null;
      }
      return log && v <= 0 ? null : v;
    });
    marks.push(m);
    odd.push(byX);
    if (smoothing > 0) {
      tables.push([s.x, y, ema(y, smoothing)]);
      columns.push({ run: i, smoothed: false }, { run: i, smoothed: true });
    } else {
      tables.push([s.x, y]);
      columns.push({ run: i, smoothed: false });
    }
  });
  const nonEmpty = tables.filter((t) => t[0].length);
  let data;
  if (!nonEmpty.length) {
    data = [[], ...columns.map(() => [])];
  } else if (tables.length === 1) {
    data = tables[0];
  } else {
    // uPlot.join needs every table to have points: give empty ones a null at an existing x.
    const x0 = nonEmpty[0][0][0];
    data = uPlot.join(tables.map((t) => (t[0].length ? t : [[x0], ...t.slice(1).map(() => [null])])));
  }
  return { data, columns, marks, odd };
}

export class Chart {
  /**
   * el: the element to draw in; key: the key (title, as text); xName: the x axis;
   * runs: [{label, color}]; onZoom(min, max): called when the user zooms (null, null: out).
   */
  constructor(el, { key, xName, runs, series, smoothing = 0, log = false, onZoom }) {
    this.el = el;
    this.key = key;
    this.xName = xName;
    this.runs = runs;
    this.smoothing = smoothing;
    this.log = log;
    this.onZoom = onZoom;
    this.built = buildData(runs, series, { smoothing, log });
    this.plot = this.make();
    this.resize = new ResizeObserver(() => {
      const w = this.el.clientWidth;
      if (w && w !== this.plot.width) this.plot.setSize({ width: w, height: HEIGHT });
    });
    this.resize.observe(this.el);
  }

  make() {
    const fmtX = xFormatter(this.xName);
    const chart = this;
    const seriesOpts = this.built.columns.map(({ run, smoothed }) => {
      const r = this.runs[run];
      const faint = this.smoothing > 0 && !smoothed;
      return {
        label: this.smoothing > 0 ? `${r.label}${smoothed ? "" : " (raw)"}` : r.label,
        stroke: faint ? r.color + "55" : r.color,
        width: faint ? 1 : 1.5,
        spanGaps: true,
        value: (u, v, sidx, idx) => {
          if (v != null) return fmtNumber(v);
          if (idx == null) return "--";
          const kind = chart.built.odd[run].get(u.data[0][idx]);
          return kind || "--";
        },
      };
    });
    const opts = {
      width: this.el.clientWidth || 400,
      height: HEIGHT,
      scales: {
        x: { time: this.xName === "_timestamp" },
        y: this.log ? { distr: 3, log: 10 } : {},
      },
      series: [{ label: this.xName, value: (u, v) => (v == null ? "--" : fmtX(v)) }, ...seriesOpts],
      axes: [
        { values: this.xName === "_timestamp" ? undefined : (u, splits) => splits.map((v) => (v == null ? "" : fmtX(v))) },
        { size: 64, values: (u, splits) => splits.map((v) => (v == null ? "" : fmtNumber(v))) },
      ],
      cursor: {
        // A drag selects; the setSelect hook turns the selection into a zoom. (Not uPlot's own
        // setScale on drag: a setScale hook cannot tell a user's zoom from uPlot's own fitting.)
        drag: { x: true, y: false, setScale: false },
        bind: {
          dblclick: () => () => {
            chart.onZoom(null, null);
            return null;
          },
        },
      },
      hooks: {
        draw: [(u) => chart.drawMarks(u)],
        setSelect: [
          (u) => {
            if (u.select.width < 2) return;
            const min = u.posToVal(u.select.left, "x");
            const max = u.posToVal(u.select.left + u.select.width, "x");
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            u.setScale("x", { min, max }); // at once, with what is loaded; then at full resolution
            chart.onZoom(min, max);
          },
        ],
      },
    };
    return new uPlot(opts, this.built.data, this.el);
  }

  drawMarks(u) {
    const ctx = u.ctx;
    const { left, top, width, height } = u.bbox;
    const px = devicePixelRatio || 1;
    const size = 4 * px;
    ctx.save();
    ctx.lineWidth = 1.5 * px;
    this.built.marks.forEach((marks, run) => {
      const color = this.runs[run].color;
      ctx.strokeStyle = color;
      ctx.fillStyle = color;
      for (const { x, kind } of marks) {
        const cx = u.valToPos(x, "x", true);
        if (!(cx >= left - 1 && cx <= left + width + 1)) continue;
        ctx.beginPath();
        if (kind === "NaN") {
          const cy = top + height - size - px;
          ctx.moveTo(cx - size, cy - size);
          ctx.lineTo(cx + size, cy + size);
          ctx.moveTo(cx + size, cy - size);
          ctx.lineTo(cx - size, cy + size);
          ctx.stroke();
        } else if (kind === "Infinity") {
          ctx.moveTo(cx, top + px);
          ctx.lineTo(cx - size, top + 2 * size);
          ctx.lineTo(cx + size, top + 2 * size);
          ctx.fill();
        } else {
          const bottom = top + height - px;
          ctx.moveTo(cx, bottom);
          ctx.lineTo(cx - size, bottom - 2 * size);
          ctx.lineTo(cx + size, bottom - 2 * size);
          ctx.fill();
        }
      }
    });
    ctx.restore();
  }

  /** New data; with `range` ({min, max}) the x window stays there (a zoomed chart). */
  update(series, range = null) {
    this.built = buildData(this.runs, series, { smoothing: this.smoothing, log: this.log });
    if (range) {
      this.plot.setData(this.built.data, false);
      this.plot.setScale("x", range); // re-fits y to what is in the window
    } else {
      this.plot.setData(this.built.data, true);
    }
  }

  destroy() {
    this.resize.disconnect();
    this.plot.destroy();
  }
}
