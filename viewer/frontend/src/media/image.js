// Image values: one image (image-file), a list of them (images/separated: a grid), or a list of
// image-file values (images of mixed formats). Captions below each image, as text.
import { h } from "../dom.js";

function images(value) {
  if (Array.isArray(value)) return value.map((v) => ({ path: v.path, caption: v.caption }));
  if (value._type === "images/separated") {
    const captions = value.captions || [];
    return (value.filenames || []).map((path, i) => ({ path, caption: captions[i] }));
  }
  return [{ path: value.path, caption: value.caption }];
}

export function create(el, ctx) {
  return {
    show(items, index) {
      const list = images(items[index].value);
      el.replaceChildren(
        h(
          "div",
          { class: list.length > 1 ? "image-grid" : "image-one" },
          list.map(({ path, caption }) =>
            h(
              "figure",
              null,
              h("img", { src: ctx.file(path), alt: caption ? String(caption) : ctx.key, loading: "lazy" }),
              caption != null && caption !== "" ? h("figcaption", null, String(caption)) : null,
            ),
          ),
        ),
      );
    },
  };
}
