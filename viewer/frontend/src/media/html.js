// Html values: each page in an <iframe sandbox="allow-scripts">, without allow-same-origin, so
// its scripts run in an opaque origin: they reach neither this page, nor the viewer's API,
// nor its cookies. (The file itself is also served with a sandboxing CSP: files.py.)
import { h } from "../dom.js";

export function create(el, ctx) {
  return {
    show(items, index) {
      const values = Array.isArray(items[index].value) ? items[index].value : [items[index].value];
      el.replaceChildren(
        ...values.map((v) =>
          h("iframe", { class: "html-frame", sandbox: "allow-scripts", referrerpolicy: "no-referrer", src: ctx.file(v.path), title: ctx.key }),
        ),
      );
    },
  };
}
