// Media renderers, by the `_type` of the values (docs/media.md). Each is one module exporting
//   create(el, ctx) -> { show(items, index), destroy?() }
// where ctx = {project, id, key, type, file(path) -> URL of a media file}, items are every
// {step, value} of the key in step order, and index is the item the step slider points at.
// Adding a type is adding a module and a line here. (plotly-file, bokeh-file, graph-file and
// classes values are listed by the fallback, as their JSON, not drawn.) "chart" is not a value's _type: the run
// page makes a panel of that type for each chart in the run document's `charts` (plot.js);
// its ctx also has `spec`, the chart record. The heavy renderers (three.js, 3Dmol.js, Vega)
// are imported by their modules when a value of theirs is first shown.
import * as audio from "./audio.js";
import * as fallback from "./fallback.js";
import * as histogram from "./histogram.js";
import * as html from "./html.js";
import * as image from "./image.js";
import * as molecule from "./molecule.js";
import * as object3d from "./object3d.js";
import * as plot from "./plot.js";
import * as table from "./table.js";
import * as video from "./video.js";

export const RENDERERS = {
  "image-file": image,
  "images/separated": image,
  histogram,
  "table-file": table,
  "audio-file": audio,
  audio,
  "video-file": video,
  "html-file": html,
  "object3D-file": object3d,
  object3D: object3d,
  "incremental-table-file": table,
  "molecule-file": molecule,
  chart: plot,
};

export function rendererFor(type) {
  return RENDERERS[type] || fallback;
}
