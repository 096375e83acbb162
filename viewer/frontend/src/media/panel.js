// One media key of a run: its values fetched when the panel scrolls into view, a step slider,
// and the renderer for its `_type` (index.js). A chart's panel (type "chart") is named for the
// chart's key and reads the values of its table's key (`spec.table_key`).
import { fileUrl, getMedia } from "../api.js";
import { h } from "../dom.js";
import { rendererFor } from "./index.js";

export class MediaPanel {
  constructor(run, key, type, spec = null) {
    this.run = run;
    this.key = key;
    this.type = type;
    this.source = spec && spec.table_key ? spec.table_key : key;
    this.items = null;
    this.index = -1;
    this.body = h("div", { class: "media-body" });
    this.slider = h("input", {
      type: "range",
      min: "0",
      max: "0",
      value: "0",
      "aria-label": `step of ${key}`,
      oninput: (e) => this.choose(Number(e.target.value)),
    });
    this.stepLabel = h("span", { class: "muted step-label" });
    this.stepper = h("div", { class: "stepper", hidden: true }, this.slider, this.stepLabel);
    this.el = h(
      "div",
      { class: "media-panel", "data-key": key, "data-type": type },
      h("div", { class: "chart-head" }, h("span", { class: "chart-title" }, key), h("span", { class: "muted" }, type)),
      this.stepper,
      this.body,
    );
    const ctx = { ...run, key, type, spec, file: (path) => fileUrl(run.project, run.id, path) };
    this.renderer = rendererFor(type).create(this.body, ctx);
    this.observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) {
        this.observer.disconnect();
        this.load();
      }
    }, { rootMargin: "300px" });
    this.observer.observe(this.el);
    this.loaded = false;
  }

  async load() {
    this.loaded = true;
    let media;
    try {
      media = await getMedia(this.run.project, this.run.id, this.source);
    } catch (err) {
      this.body.replaceChildren(h("p", { class: "error" }, String(err.message || err)));
      return;
    }
    const atEnd = this.items === null || this.index === this.items.length - 1;
    this.items = media.items;
    const n = this.items.length;
    this.slider.max = String(Math.max(0, n - 1));
    this.stepper.hidden = n < 2;
    this.choose(atEnd ? n - 1 : Math.min(this.index, n - 1));
  }

  choose(index) {
    if (!this.items || !this.items.length) return;
    this.index = index;
    this.slider.value = String(index);
    this.stepLabel.textContent = `step ${this.items[index].step} (${index + 1} of ${this.items.length})`;
    this.renderer.show(this.items, index);
  }

  /** The run grew: fetch the values again (a slider at the last step follows the new last). */
  refresh() {
    if (this.loaded) this.load();
  }

  destroy() {
    this.observer.disconnect();
    if (this.renderer.destroy) this.renderer.destroy();
  }
}
