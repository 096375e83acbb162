// Masks and boxes over images (wandb's `masks` and `boxes`, docs/media.md), with the controls
// wandb has: a toggle per mask or box set and per class (with its colour and label), and a
// threshold slider per box score. One Overlays serves a whole panel: its toggles apply to every
// image of a grid, as wandb's do.
//
// An image is a <figure> whose .layers box is exactly the image's size: the <img>, one <canvas>
// per mask set (at the mask's own resolution, stretched over the image, each pixel the colour
// of its class id), and one .box-layer of positioned <div>s per box set, their labels as text.
import { h } from "../dom.js";
import { loadMask } from "./maskpng.js";

// One colour per class id, as wandb colours classes (a fixed list, by id).
const COLORS = [
  [31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189],
  [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207],
  [174, 199, 232], [255, 187, 120], [152, 223, 138], [255, 152, 150], [197, 176, 213],
  [196, 156, 148], [247, 182, 210], [199, 199, 199], [219, 219, 141], [158, 218, 229],
]; // prettier-ignore

export function classColor(id) {
  return COLORS[((Number(id) % COLORS.length) + COLORS.length) % COLORS.length];
}

const css = ([r, g, b]) => `rgb(${r}, ${g}, ${b})`;

/** One image of a value: {path, caption, masks, boxes, width, height}, whatever its _type. */
export function imageList(value) {
  if (Array.isArray(value)) return value.flatMap((v) => (v && typeof v === "object" ? imageList(v) : []));
  if (value && value._type === "images/separated") {
    const at = (list, i) => (Array.isArray(list) ? list[i] : undefined);
    return (value.filenames || []).map((path, i) => ({
      path,
      caption: at(value.captions, i),
      masks: at(value.all_masks, i) || null,
      boxes: at(value.all_boxes, i) || null,
      width: value.width,
      height: value.height,
    }));
  }
  return [{ path: value.path, caption: value.caption, masks: value.masks || null, boxes: value.boxes || null, width: value.width, height: value.height }];
}

// boxes2D files already read, by URL: a step slider going back and forth reads each once.
const BOX_FILES = new Map();

/** A box set with its box_data: as it is when inline, else read from its boxes2D file. */
function loadBoxSet(ctx, group) {
  if (!group || typeof group !== "object") return Promise.resolve({ box_data: [] });
  if (Array.isArray(group.box_data) || typeof group.path !== "string") return Promise.resolve(group);
  const url = ctx.file(group.path);
  if (!BOX_FILES.has(url)) {
    BOX_FILES.set(
      url,
      fetch(url).then((r) => {
        if (!r.ok) throw new Error(`${group.path}: HTTP ${r.status}`);
        return r.json();
      }),
    );
  }
  return BOX_FILES.get(url).then((body) => ({
    ...group,
    box_data: Array.isArray(body && body.box_data) ? body.box_data : [],
    class_labels: { ...((body && body.class_labels) || {}), ...(group.class_labels || {}) },
  }));
}

function boxRect(box, width, height) {
  const p = box.position || {};
  let x0, x1, y0, y1;
  if (Array.isArray(p.middle)) {
    x0 = p.middle[0] - p.width / 2;
    x1 = p.middle[0] + p.width / 2;
    y0 = p.middle[1] - p.height / 2;
    y1 = p.middle[1] + p.height / 2;
  } else {
    [x0, x1, y0, y1] = [p.minX, p.maxX, p.minY, p.maxY];
  }
  if (box.domain === "pixel") {
    [x0, x1, y0, y1] = [x0 / width, x1 / width, y0 / height, y1 / height];
  }
  if (![x0, x1, y0, y1].every(Number.isFinite)) return null;
  return { left: Math.min(x0, x1), top: Math.min(y0, y1), width: Math.abs(x1 - x0), height: Math.abs(y1 - y0) };
}

function fmtScore(v) {
  return typeof v === "number" ? String(Number(v.toPrecision(3))) : String(v);
}

export class Overlays {
  /** ctx: the panel's ctx (file(path) -> URL); interactive: false for table thumbnails. */
  constructor(ctx, { interactive = true } = {}) {
    this.ctx = ctx;
    this.interactive = interactive;
    this.hidden = new Set(); // "m|set", "m|set|id", "b|set", "b|set|id"
    this.thresholds = new Map(); // score name -> lowest score shown
    this.sets = { m: new Map(), b: new Map() }; // set name -> Map(class id -> label)
    this.scores = new Map(); // score name -> [min, max]
    this.masks = []; // {set, canvas, data}
    this.boxes = []; // {set, cls, scores, el}
    this.controls = h("div", { class: "overlay-controls" });
  }

  /** Forget the drawn images (a new step) but keep the toggles and thresholds. */
  reset() {
    this.masks = [];
    this.boxes = [];
    this.sets = { m: new Map(), b: new Map() };
    this.scores = new Map();
  }

  _classes(kind, set) {
    if (!this.sets[kind].has(set)) this.sets[kind].set(set, new Map());
    return this.sets[kind].get(set);
  }

  _shown(kind, set, cls) {
    return !this.hidden.has(`${kind}|${set}`) && !this.hidden.has(`${kind}|${set}|${cls}`);
  }

  /** A <figure> for one image (imageList's shape), its masks and boxes drawn over it. */
  figure(img) {
    const src = this.ctx.file(img.path);
    const image = h("img", { src, alt: img.caption ? String(img.caption) : this.ctx.key, loading: "lazy" });
    const layers = h("div", { class: "layers" }, image);
    for (const [set, mask] of Object.entries(img.masks || {})) {
      if (!mask || typeof mask.path !== "string") continue;
      const classes = this._classes("m", set);
      for (const [id, label] of Object.entries(mask.class_labels || {})) classes.set(String(id), String(label));
      const canvas = h("canvas", { class: "mask-layer", "data-set": set });
      layers.append(canvas);
      const entry = { set, canvas, data: null };
      this.masks.push(entry);
      loadMask(this.ctx.file(mask.path)).then(
        (data) => {
          entry.data = data;
          canvas.width = data.width;
          canvas.height = data.height;
          let added = false;
          const seen = new Set(data.ids);
          for (const id of seen) {
            if (id !== 0 && !classes.has(String(id))) {
              classes.set(String(id), `class ${id}`);
              added = true;
            }
          }
          this._paint(entry);
          if (added) this.drawControls();
          canvas.dataset.ready = "1";
        },
        (err) => canvas.replaceWith(h("span", { class: "error small" }, `mask ${set}: ${err.message || err}`)),
      );
    }
    const sets = Object.entries(img.boxes || {});
    if (sets.length) {
      const place = (boxSets) => {
        for (const [set, group] of boxSets) {
          const labels = group.class_labels || {};
          const classes = this._classes("b", set);
          for (const [id, label] of Object.entries(labels)) classes.set(String(id), String(label));
          const layer = h("div", { class: "box-layer", "data-set": set });
          for (const box of Array.isArray(group.box_data) ? group.box_data : []) {
            const r = boxRect(box, image.naturalWidth || img.width || 1, image.naturalHeight || img.height || 1);
            if (!r) continue;
            const cls = String(box.class_id);
            if (!classes.has(cls)) classes.set(cls, `class_${cls}`);
            const scores = box.scores && typeof box.scores === "object" ? box.scores : {};
            for (const [name, v] of Object.entries(scores)) {
              if (typeof v !== "number" || !Number.isFinite(v)) continue;
              const [lo, hi] = this.scores.get(name) || [v, v];
              this.scores.set(name, [Math.min(lo, v), Math.max(hi, v)]);
            }
            const label = box.box_caption != null ? String(box.box_caption) : classes.get(cls);
            const scoreText = Object.entries(scores).map(([k, v]) => `${k} ${fmtScore(v)}`).join(" ");
            const el = h("div", { class: "box", "data-class": cls }, h("span", { class: "box-label" }, scoreText ? `${label} (${scoreText})` : label));
            const color = css(classColor(cls));
            el.style.left = `${r.left * 100}%`;
            el.style.top = `${r.top * 100}%`;
            el.style.width = `${r.width * 100}%`;
            el.style.height = `${r.height * 100}%`;
            el.style.borderColor = color;
            el.firstChild.style.background = color;
            layer.append(el);
            this.boxes.push({ set, cls, scores, el });
          }
          layers.append(layer);
        }
        this.apply();
        this.drawControls();
      };
      // A box set is inline (box_data) or, as wandb logs it, a boxes2D file named by `path`.
      Promise.all(sets.map(([set, group]) => loadBoxSet(this.ctx, group).then((g) => [set, g]))).then(
        (boxSets) => {
          // Pixel boxes need the image's size: wait for it unless the value says it.
          const pixel = boxSets.some(([, g]) => (g.box_data || []).some((b) => b && b.domain === "pixel"));
          if (!pixel || (img.width && img.height) || image.complete) place(boxSets);
          else image.addEventListener("load", () => place(boxSets), { once: true });
        },
        (err) => layers.append(h("span", { class: "error small" }, `boxes: ${err.message || err}`)),
      );
    }
    return h(
      "figure",
      { class: "overlay-figure" },
      layers,
      img.caption != null && img.caption !== "" ? h("figcaption", null, String(img.caption)) : null,
    );
  }

  _paint(entry) {
    const { data, canvas, set } = entry;
    if (!data) return;
    const g = canvas.getContext("2d");
    const out = g.createImageData(data.width, data.height);
    const px = out.data;
    const colors = new Map();
    const classes = this._classes("m", set);
    const setShown = !this.hidden.has(`m|${set}`);
    for (let i = 0; i < data.ids.length; i++) {
      const id = data.ids[i];
      let c = colors.get(id);
      if (c === undefined) {
        // (An id 0 without a label is the background: left clear.)
        c = setShown && classes.has(String(id)) && this._shown("m", set, String(id)) ? classColor(id) : null;
        colors.set(id, c);
      }
      if (!c) continue;
      px[i * 4] = c[0];
      px[i * 4 + 1] = c[1];
      px[i * 4 + 2] = c[2];
      px[i * 4 + 3] = 255;
    }
    g.putImageData(out, 0, 0);
  }

  /** Draw every mask and show or hide every box as the toggles and thresholds say. */
  apply() {
    for (const m of this.masks) this._paint(m);
    for (const b of this.boxes) {
      let shown = this._shown("b", b.set, b.cls);
      for (const [name, t] of this.thresholds) {
        const v = b.scores[name];
        if (typeof v === "number" && v < t) shown = false;
      }
      b.el.hidden = !shown;
    }
  }

  _toggle(key, label, color) {
    return h(
      "label",
      { class: "class-toggle", "data-toggle": key },
      h("input", {
        type: "checkbox",
        checked: !this.hidden.has(key),
        onchange: (e) => {
          if (e.target.checked) this.hidden.delete(key);
          else this.hidden.add(key);
          this.apply();
        },
      }),
      color ? swatch(color) : null,
      label,
    );
  }

  /** The legend and controls: a fieldset per mask or box set, a slider per score. */
  drawControls() {
    if (!this.interactive) return;
    const parts = [];
    for (const [kind, what] of [["m", "mask"], ["b", "boxes"]]) {
      for (const [set, classes] of this.sets[kind]) {
        const ids = [...classes.keys()].sort((a, b) => Number(a) - Number(b));
        parts.push(
          h(
            "fieldset",
            { class: "overlay-set", "data-kind": what, "data-set": set },
            h("legend", null, this._toggle(`${kind}|${set}`, `${what}: ${set}`)),
            ids.map((id) => this._toggle(`${kind}|${set}|${id}`, classes.get(id), classColor(id))),
          ),
        );
      }
    }
    for (const [name, [lo, hi]] of this.scores) {
      const t = this.thresholds.get(name) ?? lo;
      const shown = h("span", { class: "score-value" }, fmtScore(t));
      parts.push(
        h(
          "label",
          { class: "score-filter", "data-score": name },
          `${name} ≥ `,
          h("input", {
            type: "range",
            min: String(lo),
            max: String(hi),
            step: String(hi > lo ? (hi - lo) / 100 : 1),
            value: String(t),
            "aria-label": `lowest ${name} shown`,
            oninput: (e) => {
              const v = Number(e.target.value);
              this.thresholds.set(name, v);
              shown.textContent = fmtScore(v);
              this.apply();
            },
          }),
          shown,
        ),
      );
    }
    this.controls.replaceChildren(...parts);
  }
}

function swatch(color) {
  const s = h("span", { class: "swatch" });
  s.style.background = css(color);
  return s;
}
