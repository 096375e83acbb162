// Vega-Lite specs for wandb's chart presets, and drawing one with Vega (loaded only when a chart
// is shown: plot.js imports this module dynamically).
//
// The page's Content-Security-Policy has no 'unsafe-eval': Vega parses the spec's expressions
// into syntax trees (`ast: true`) and runs them with vega-interpreter instead of compiling them
// into functions. The canvas renderer draws every title, label and value as canvas text, and
// tooltips are the canvas's own title attribute: a table's strings are never markup.
import { parse, View } from "vega";
import { expressionInterpreter } from "vega-interpreter";
import { compile } from "vega-lite";

const HEIGHT = 260;

function columnIndex(table, name) {
  return Array.isArray(table.columns) ? table.columns.indexOf(name) : -1;
}

/** The table's rows as records {field: cell}, for the chart's fields (field -> column). */
function records(table, fields) {
  const picks = Object.entries(fields)
    .map(([field, column]) => [field, columnIndex(table, column)])
    .filter(([, i]) => i >= 0);
  return (Array.isArray(table.data) ? table.data : []).map((row) => {
    const out = {};
    for (const [field, i] of picks) {
      const v = row[i];
      out[field] = typeof v === "number" && !Number.isFinite(v) ? null : v;
    }
    return out;
  });
}

const q = (field, title, extra = {}) => ({ field, type: "quantitative", title, ...extra });
const n = (field, title, extra = {}) => ({ field, type: "nominal", title, ...extra });

// One function per preset: (fields, string fields) -> a Vega-Lite spec without data and size.
const PRESETS = {
  "wandb/line/v0": (f) => ({
    mark: { type: "line", point: false, tooltip: true },
    encoding: { x: q("x", f.x), y: q("y", f.y), ...(f.stroke ? { color: n("stroke", f.stroke) } : {}) },
  }),
  "wandb/scatter/v0": (f) => ({
    mark: { type: "point", filled: true, size: 40, opacity: 0.75, tooltip: true },
    encoding: { x: q("x", f.x, { scale: { zero: false } }), y: q("y", f.y, { scale: { zero: false } }) },
  }),
  "wandb/bar/v0": (f) => ({
    mark: { type: "bar", tooltip: true },
    encoding: { y: n("label", f.label, { sort: null }), x: q("value", f.value) },
  }),
  "wandb/histogram/v0": (f) => ({
    mark: { type: "bar", tooltip: true },
    encoding: { x: q("value", f.value, { bin: { maxbins: 20 } }), y: { aggregate: "count", type: "quantitative", title: "count" } },
  }),
  "wandb/lineseries/v0": (f, s) => ({
    mark: { type: "line", tooltip: true },
    encoding: { x: q("step", s.xname || "x"), y: q("lineVal", "y"), color: n("lineKey", null) },
  }),
  "wandb/area-under-curve/v0": (f, s) => ({
    mark: { type: "line", tooltip: true, interpolate: "linear" },
    encoding: {
      x: q("x", s["x-axis-title"] || f.x, { scale: { domain: [0, 1] } }),
      y: q("y", s["y-axis-title"] || f.y, { scale: { domain: [0, 1] } }),
      color: n("class", f.class),
      order: { field: "x", type: "quantitative" },
    },
  }),
  "wandb/confusion_matrix/v1": (f) => ({
    encoding: { x: n("Predicted", "Predicted", { sort: null }), y: n("Actual", "Actual", { sort: null }) },
    layer: [
      {
        mark: { type: "rect", tooltip: true },
        encoding: { color: q("nPredictions", "count", { scale: { scheme: "blues", zero: true } }) },
      },
      {
        mark: { type: "text" },
        encoding: {
          text: q("nPredictions"),
          color: { condition: { test: "datum.nPredictions > 0.5 * datum.maxCount", value: "white" }, value: "black" },
        },
        transform: [{ joinaggregate: [{ op: "max", field: "nPredictions", as: "maxCount" }] }],
      },
    ],
  }),
};

export const PRESET_NAMES = Object.keys(PRESETS);

/** The Vega-Lite spec drawing `table` as chart record `chart` says, or null for an unknown preset. */
export function presetSpec(chart, table, width) {
  const make = PRESETS[chart.vega_spec_name];
  if (!make) return null;
  const fields = chart.fields || {};
  const strings = chart.string_fields || {};
  const spec = make(fields, strings);
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    ...(strings.title ? { title: String(strings.title) } : {}),
    width,
    height: HEIGHT,
    autosize: { type: "fit", contains: "padding" },
    data: { values: records(table, fields) },
    config: { view: { stroke: null }, axis: { labelLimit: 160 } },
    ...spec,
  };
}

/** Draw a Vega-Lite spec into `el` (emptied first) on a canvas; returns the Vega View. */
export async function drawChart(el, vlSpec) {
  const runtime = parse(compile(vlSpec).spec, null, { ast: true });
  el.replaceChildren();
  const view = new View(runtime, { expr: expressionInterpreter, renderer: "canvas", container: el, hover: true });
  await view.runAsync();
  return view;
}
