// Image values: one image (image-file), a list of them (images/separated: a grid), or a list of
// image-file values (images of mixed formats). Captions below each image, as text; masks and
// boxes drawn over them, with the controls of overlay.js above the images.
import { h } from "../dom.js";
import { imageList, Overlays } from "./overlay.js";

export function create(el, ctx) {
  const overlays = new Overlays(ctx);
  return {
    show(items, index) {
      const list = imageList(items[index].value);
      overlays.reset();
      const grid = h("div", { class: list.length > 1 ? "image-grid" : "image-one" }, list.map((img) => overlays.figure(img)));
      overlays.drawControls();
      el.replaceChildren(overlays.controls, grid);
    },
  };
}
