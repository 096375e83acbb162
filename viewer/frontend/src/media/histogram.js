// Histogram values over steps: every logged histogram as one column of a heat map (x: step,
// y: the value's bins, shade: the count, relative to that step's largest bin), as TensorBoard
// and wandb draw a distribution over time; and below it, the bars of the histogram at the
// step the slider points at.
import uPlot from "uplot";
import { fmtNumber, h } from "../dom.js";

const HEAT_HEIGHT = 180;
const BARS_HEIGHT = 160;
const PAD = { left: 56, right: 8, top: 6, bottom: 18 };

function drawHeat(canvas, items, index) {
  const width = canvas.clientWidth || 400;
  const px = devicePixelRatio || 1;
  canvas.width = width * px;
  canvas.height = HEAT_HEIGHT * px;
  const ctx = canvas.getContext("2d");
  ctx.scale(px, px);
  ctx.clearRect(0, 0, width, HEAT_HEIGHT);
  const hs = items.map((it) => it.value).filter((v) => Array.isArray(v.bins) && Array.isArray(v.values) && v.bins.length === v.values.length + 1);
  if (!hs.length) return;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of hs) {
    for (const b of v.bins) {
      if (Number.isFinite(b)) {
        lo = Math.min(lo, b);
        hi = Math.max(hi, b);
      }
    }
  }
  if (!(hi > lo)) hi = lo + 1;
  const s0 = items[0].step;
  const s1 = items[items.length - 1].step;
  const span = s1 > s0 ? s1 - s0 : 1;
  const plotW = width - PAD.left - PAD.right;
  const plotH = HEAT_HEIGHT - PAD.top - PAD.bottom;
  const colW = Math.max(1, plotW / items.length);
  const xOf = (step) => PAD.left + (items.length > 1 ? ((step - s0) / span) * (plotW - colW) : 0);
  const yOf = (v) => PAD.top + plotH - ((v - lo) / (hi - lo)) * plotH;
  items.forEach((it, i) => {
    const v = it.value;
    if (!Array.isArray(v.values)) return;
    const most = Math.max(...v.values.filter(Number.isFinite), 0);
    if (!(most > 0)) return;
    const x = xOf(it.step);
    for (let j = 0; j < v.values.length; j++) {
      const share = v.values[j] / most;
      if (!(share > 0)) continue;
      const top = yOf(v.bins[j + 1]);
      ctx.fillStyle = `rgba(31, 119, 180, ${Math.min(1, 0.08 + 0.92 * share)})`;
      ctx.fillRect(x, top, colW, Math.max(1, yOf(v.bins[j]) - top));
    }
    if (i === index) {
      ctx.strokeStyle = "#d62728";
      ctx.strokeRect(x - 0.5, PAD.top, colW + 1, plotH);
    }
  });
  ctx.fillStyle = "#555";
  ctx.font = "11px sans-serif";
  ctx.textAlign = "right";
  ctx.fillText(fmtNumber(hi), PAD.left - 4, PAD.top + 9);
  ctx.fillText(fmtNumber(lo), PAD.left - 4, PAD.top + plotH);
  ctx.textAlign = "left";
  ctx.fillText(`step ${s0}`, PAD.left, HEAT_HEIGHT - 4);
  ctx.textAlign = "right";
  ctx.fillText(`step ${s1}`, width - PAD.right, HEAT_HEIGHT - 4);
}

function barsData(value) {
  const bins = value.bins || [];
  const counts = value.values || [];
  const x = counts.map((_, j) => (bins[j] + bins[j + 1]) / 2);
  return [x, counts];
}

export function create(el, ctx) {
  const canvas = h("canvas", { class: "heat", height: String(HEAT_HEIGHT) });
  const bars = h("div", { class: "bars" });
  el.replaceChildren(h("div", { class: "muted small" }, "distribution over steps"), canvas, h("div", { class: "muted small" }, "bars at the chosen step"), bars);
  let plot = null;
  let last = null;
  const resize = new ResizeObserver(() => {
    if (last) drawHeat(canvas, last.items, last.index);
    if (plot && bars.clientWidth && bars.clientWidth !== plot.width) plot.setSize({ width: bars.clientWidth, height: BARS_HEIGHT });
  });
  resize.observe(el);
  return {
    show(items, index) {
      last = { items, index };
      drawHeat(canvas, items, index);
      const data = barsData(items[index].value);
      if (plot) {
        plot.setData(data);
        return;
      }
      plot = new uPlot(
        {
          width: bars.clientWidth || 400,
          height: BARS_HEIGHT,
          scales: { x: { time: false } },
          legend: { show: true },
          series: [
            { label: "value", value: (u, v) => (v == null ? "--" : fmtNumber(v)) },
            { label: "count", fill: "rgba(31, 119, 180, 0.6)", stroke: "#1f77b4", paths: uPlot.paths.bars({ size: [1, Infinity], gap: 1 }), points: { show: false } },
          ],
          axes: [{ values: (u, s) => s.map((v) => (v == null ? "" : fmtNumber(v))) }, { size: 56 }],
          cursor: { drag: { x: false, y: false } },
        },
        data,
        bars,
      );
    },
    destroy() {
      resize.disconnect();
      if (plot) plot.destroy();
    },
  };
}
