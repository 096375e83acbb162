// Media renderers, by the `_type` of the values (docs/media.md). Each is one module exporting
//   create(el, ctx) -> { show(items, index), destroy?() }
// where ctx = {project, id, key, type, file(path) -> URL of a media file}, items are every
// {step, value} of the key in step order, and index is the item the step slider points at.
// Adding a type is adding a module and a line here (phase 2: object3D-file, molecule-file,
// masks and boxes on images, the plot.* presets).
import * as audio from "./audio.js";
import * as fallback from "./fallback.js";
import * as histogram from "./histogram.js";
import * as html from "./html.js";
import * as image from "./image.js";
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
};

export function rendererFor(type) {
  return RENDERERS[type] || fallback;
}
