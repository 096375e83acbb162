// A media type this viewer does not draw yet: its value, as text.
import { h } from "../dom.js";

export function create(el, ctx) {
  return {
    show(items, index) {
      el.replaceChildren(
        h("p", { class: "muted" }, `${ctx.type} values are not drawn yet; this is the value logged:`),
        h("pre", { class: "value" }, JSON.stringify(items[index].value, null, 1)),
      );
    },
  };
}
