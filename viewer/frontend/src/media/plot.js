// Charts logged with the plot.* presets or plot_table (docs/media.md, "Chart presets"): the
// run document's `charts` names each chart's preset, its fields and titles, and the history
// key of its table (`<key>_table`). The table at the chosen step is drawn with Vega-Lite as
// wandb draws the preset (vega-chart.js, loaded on first use). A preset that is not one of
// wandb's built-in ones is shown as its table.
import { getJSON } from "../api.js";
import { h } from "../dom.js";
import * as tableRenderer from "./table.js";

export function create(el, ctx) {
  const spec = ctx.spec || {};
  const stage = h("div", { class: "vega-stage" });
  const note = h("div", { class: "muted small" });
  el.replaceChildren(note, stage);
  let view = null;
  let token = 0;
  let fallback = null;
  let lastPath = null;

  return {
    async show(items, index) {
      const path = items[index].value.path;
      if (path === lastPath) return;
      lastPath = path;
      const my = ++token;
      try {
        const [mod, table] = await Promise.all([import("./vega-chart.js"), getJSON(ctx.file(path))]);
        if (my !== token) return;
        const width = Math.max(240, (el.clientWidth || 480) - 24);
        const vl = mod.presetSpec(spec, table, width);
        if (!vl) {
          note.textContent = `${spec.vega_spec_name} is not one of wandb's built-in presets; its table:`;
          if (!fallback) fallback = tableRenderer.create(stage, ctx);
          fallback.show(items, index);
          return;
        }
        if (view) view.finalize();
        view = await mod.drawChart(stage, vl);
        note.textContent = spec.vega_spec_name || "";
      } catch (err) {
        if (my === token) note.textContent = `cannot draw this chart: ${err.message || err}`;
      }
    },
    destroy() {
      token++;
      if (view) view.finalize();
      if (fallback && fallback.destroy) fallback.destroy();
    },
  };
}
