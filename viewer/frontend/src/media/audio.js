// Audio values: one clip (audio-file) or a list of clips (audio), each a player and its caption.
import { h } from "../dom.js";

function clips(value) {
  if (value._type === "audio") {
    const captions = value.captions || [];
    return (value.audio || []).map((a, i) => ({ path: a.path, caption: captions[i] ?? a.caption }));
  }
  if (Array.isArray(value)) return value.map((a) => ({ path: a.path, caption: a.caption }));
  return [{ path: value.path, caption: value.caption }];
}

export function create(el, ctx) {
  return {
    show(items, index) {
      el.replaceChildren(
        ...clips(items[index].value).map(({ path, caption }) =>
          h("figure", { class: "clip" }, h("audio", { controls: true, preload: "metadata", src: ctx.file(path) }), caption ? h("figcaption", null, String(caption)) : null),
        ),
      );
    },
  };
}
