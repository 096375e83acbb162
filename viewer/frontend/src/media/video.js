// Video values: a GIF is an image; mp4, webm and ogg play in a <video> player.
import { h } from "../dom.js";

export function create(el, ctx) {
  return {
    show(items, index) {
      const values = Array.isArray(items[index].value) ? items[index].value : [items[index].value];
      el.replaceChildren(
        ...values.map((v) => {
          const src = ctx.file(v.path);
          const player =
            String(v.format || v.path.split(".").pop()).toLowerCase() === "gif"
              ? h("img", { src, alt: v.caption ? String(v.caption) : ctx.key })
              : h("video", { controls: true, preload: "metadata", src, loop: true });
          return h("figure", { class: "clip" }, player, v.caption ? h("figcaption", null, String(v.caption)) : null);
        }),
      );
    },
  };
}
