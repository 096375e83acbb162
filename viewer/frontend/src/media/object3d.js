// Object3D values (object3D-file): the file drawn in a three.js view (three-view.js, loaded on
// first use so the run page does not carry three.js), with orbit controls. A list of 3-D values
// in one key gets a chooser. Point clouds and scenes list their boxes' labels below the view.
import { h } from "../dom.js";

export function kindOf(path) {
  const name = String(path).toLowerCase();
  return name.endsWith(".pts.json") ? "pts.json" : name.split(".").pop();
}

export function create(el, ctx) {
  const stage = h("div", { class: "three-stage" });
  const chooser = h("div", { class: "toolbar" });
  const info = h("div", { class: "muted small three-info" });
  const legend = h("ul", { class: "legend three-legend" });
  el.replaceChildren(chooser, stage, info, legend);
  let view = null;
  let token = 0;
  let pick = 0;
  let last = null;

  async function draw(value) {
    const my = ++token;
    info.textContent = "loading…";
    try {
      const [mod, buffer] = await Promise.all([
        import("./three-view.js"),
        fetch(ctx.file(value.path), { credentials: "same-origin" }).then((r) => {
          if (!r.ok) throw new Error(`${r.status} ${r.statusText}`);
          return r.arrayBuffer();
        }),
      ]);
      if (my !== token) return;
      if (!view) view = mod.createView(stage);
      const { summary, legend: items } = await view.show(kindOf(value.path), buffer);
      if (my !== token) return;
      info.textContent = [summary, value.caption != null ? String(value.caption) : null].filter(Boolean).join(" · ");
      legend.replaceChildren(
        ...items
          .filter((l) => l.label)
          .map((l) => {
            const s = h("span", { class: "swatch" });
            s.style.background = l.color;
            return h("li", null, s, l.label);
          }),
      );
    } catch (err) {
      if (my === token) info.textContent = `cannot draw this 3-D value: ${err.message || err}`;
    }
  }

  function choose(values) {
    pick = Math.min(pick, values.length - 1);
    chooser.replaceChildren(
      ...(values.length > 1
        ? values.map((_, i) =>
            h("button", { type: "button", class: i === pick ? "active" : "", onclick: () => ((pick = i), choose(values)) }, String(i + 1)),
          )
        : []),
    );
    draw(values[pick]);
  }

  return {
    show(items, index) {
      const value = items[index].value;
      // A list of objects is one `object3D` value (wandb's), its objects under `objects`.
      const list = Array.isArray(value) ? value : value && value._type === "object3D" ? value.objects || [] : [value];
      const values = list.filter((v) => v && typeof v.path === "string");
      const paths = values.map((v) => v.path).join("\n");
      if (!values.length || paths === last) return; // the same files: a live refresh changes nothing
      last = paths;
      choose(values);
    },
    destroy() {
      token++;
      if (view) view.destroy();
    },
  };
}
