// Table values (table-file): the table's JSON file, paginated, sortable by a column, filtered by
// text (in every column or one). Media in cells are drawn inline: images as thumbnails (masks
// and boxes over them), audio and video as small players, histograms as small bars; an Html
// page is a link to it (it opens sandboxed); a 3-D object or a molecule opens its viewer under
// the table.
import { getJSON } from "../api.js";
import { fmtValue, h } from "../dom.js";
import * as molecule from "./molecule.js";
import * as object3d from "./object3d.js";
import { imageList, Overlays } from "./overlay.js";

const PAGE_ROWS = 25;
const IMAGE_TYPES = new Set(["image-file", "images/separated"]);

function isMedia(v) {
  return v != null && typeof v === "object" && !Array.isArray(v) && typeof v._type === "string";
}

function isImages(v) {
  return isMedia(v) ? IMAGE_TYPES.has(v._type) : Array.isArray(v) && v.length > 0 && v.every((x) => isMedia(x) && x._type === "image-file");
}

/** What a cell sorts and filters by: its text, or a media value's caption and type. */
function cellText(v) {
  if (isMedia(v)) return [v.caption, ...(v.captions || []), v._type].filter((x) => x != null && x !== "").join(" ");
  return fmtValue(v, 1000);
}

function compareCells(a, b) {
  if (typeof a === "number" && typeof b === "number") return (Number.isNaN(a) ? Infinity : a) - (Number.isNaN(b) ? Infinity : b);
  if (a == null || b == null) return a == null ? (b == null ? 0 : 1) : -1;
  return cellText(a).localeCompare(cellText(b), undefined, { numeric: true });
}

function miniHistogram(v) {
  const canvas = h("canvas", { class: "cell-hist", width: "96", height: "32" });
  const counts = Array.isArray(v.values) ? v.values.filter(Number.isFinite) : [];
  const most = Math.max(0, ...counts);
  const g = canvas.getContext("2d");
  g.fillStyle = "#1f77b4";
  counts.forEach((c, i) => {
    const hgt = most > 0 ? (c / most) * 32 : 0;
    g.fillRect((i * 96) / counts.length, 32 - hgt, Math.max(1, 96 / counts.length - 0.5), hgt);
  });
  return canvas;
}

export function create(el, ctx) {
  const cache = new Map(); // path -> table JSON
  const thumbs = new Overlays(ctx, { interactive: false });
  const viewer = h("div", { class: "cell-viewer", hidden: true });
  let open = null; // the renderer shown in `viewer`
  let state = { path: null, page: 0, sort: null, desc: false, filter: "", column: -1 };

  function openViewer(mod, value, title) {
    if (open && open.destroy) open.destroy();
    const body = h("div", { class: "media-body" });
    viewer.replaceChildren(
      h("div", { class: "chart-head" }, h("span", { class: "chart-title" }, title), h("button", { type: "button", onclick: closeViewer }, "close")),
      body,
    );
    viewer.hidden = false;
    open = mod.create(body, { ...ctx, type: value._type });
    open.show([{ step: 0, value }], 0);
  }

  function closeViewer() {
    if (open && open.destroy) open.destroy();
    open = null;
    viewer.hidden = true;
    viewer.replaceChildren();
  }

  function mediaCell(v, where) {
    if (isImages(v)) return h("div", { class: "cell-images" }, imageList(v).map((img) => thumbs.figure(img)));
    if (Array.isArray(v)) return v.map((x) => mediaCell(x, where));
    const url = typeof v.path === "string" ? ctx.file(v.path) : null;
    switch (v._type) {
      case "audio-file":
        return h("audio", { controls: true, preload: "none", src: url, class: "cell-audio" });
      case "audio":
        return (v.audio || []).map((a) => mediaCell(a, where));
      case "video-file":
        return String(v.format || v.path.split(".").pop()).toLowerCase() === "gif"
          ? h("img", { src: url, alt: v.caption ? String(v.caption) : "video", class: "cell-thumb" })
          : h("video", { controls: true, preload: "metadata", muted: true, src: url, class: "cell-thumb" });
      case "histogram":
        return miniHistogram(v);
      case "html-file":
        return h("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, "open page");
      case "object3D-file":
        return h("button", { type: "button", class: "open-3d", onclick: () => openViewer(object3d, v, `${where}: 3-D object`) }, "view 3-D");
      case "molecule-file":
        return h("button", { type: "button", class: "open-3d", onclick: () => openViewer(molecule, v, `${where}: molecule`) }, "view molecule");
      default:
        return url ? h("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, `[${v._type}]`) : `[${v._type}]`;
    }
  }

  function cell(v, where) {
    if (isMedia(v) || isImages(v)) {
      const caption = isMedia(v) && v.caption != null && !IMAGE_TYPES.has(v._type) ? h("div", { class: "muted small" }, String(v.caption)) : null;
      return h("td", { class: "media-cell" }, mediaCell(v, where), caption);
    }
    return h("td", null, fmtValue(v, 200));
  }

  function draw(table) {
    const columns = Array.isArray(table.columns) ? table.columns : [];
    let rows = Array.isArray(table.data) ? table.data : [];
    if (state.filter) {
      const f = state.filter.toLowerCase();
      const hit = (c) => cellText(c).toLowerCase().includes(f);
      rows = rows.filter((r) => (state.column >= 0 ? hit(r[state.column]) : r.some(hit)));
    }
    if (state.sort != null) {
      const i = state.sort;
      const dir = state.desc ? -1 : 1;
      rows = rows.slice().sort((a, b) => dir * compareCells(a[i], b[i]));
    }
    const pages = Math.max(1, Math.ceil(rows.length / PAGE_ROWS));
    state.page = Math.min(state.page, pages - 1);
    const start = state.page * PAGE_ROWS;
    const shown = rows.slice(start, start + PAGE_ROWS);
    const refilter = (focus) => () => {
      state.page = 0;
      draw(table);
      const again = el.querySelector(focus);
      again.focus();
      if (again.type === "search") again.setSelectionRange(again.value.length, again.value.length);
    };
    const filter = h("input", { type: "search", placeholder: "filter rows", value: state.filter, oninput: (e) => ((state.filter = e.target.value), refilter("input[type=search]")()) });
    const column = h(
      "select",
      { "aria-label": "filter in column", onchange: (e) => ((state.column = Number(e.target.value)), refilter("select")()) },
      h("option", { value: "-1", selected: state.column === -1 }, "any column"),
      columns.map((c, i) => h("option", { value: String(i), selected: state.column === i }, fmtValue(c))),
    );
    const go = (p) => () => {
      state.page = p;
      draw(table);
    };
    thumbs.reset();
    el.replaceChildren(
      h(
        "div",
        { class: "toolbar" },
        filter,
        column,
        h("button", { type: "button", onclick: go(state.page - 1), disabled: state.page === 0 }, "‹ prev"),
        h("span", { class: "muted" }, rows.length ? `rows ${start + 1}–${start + shown.length} of ${rows.length}` : "no rows"),
        h("button", { type: "button", onclick: go(state.page + 1), disabled: state.page >= pages - 1 }, "next ›"),
      ),
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "data" },
          h(
            "thead",
            null,
            h(
              "tr",
              null,
              columns.map((c, i) =>
                h(
                  "th",
                  {
                    class: "sortable",
                    onclick: () => {
                      state.desc = state.sort === i ? !state.desc : false;
                      state.sort = i;
                      state.page = 0;
                      draw(table);
                    },
                  },
                  fmtValue(c),
                  state.sort === i ? (state.desc ? " ▾" : " ▴") : "",
                ),
              ),
            ),
          ),
          h("tbody", null, shown.map((r, n) => h("tr", null, columns.map((c, i) => cell(r[i], `row ${start + n + 1}, ${fmtValue(c)}`))))),
        ),
      ),
      viewer,
    );
  }

  // An incremental-table-file (log_mode="INCREMENTAL") names its own rows' file and the
  // earlier increments' files: the table is all of them, in order.
  async function readTable(value) {
    const paths = [...(Array.isArray(value.previous_increments_paths) ? value.previous_increments_paths : []), value.path];
    const parts = await Promise.all(paths.filter((p) => typeof p === "string").map((p) => getJSON(ctx.file(p))));
    const last = parts[parts.length - 1];
    return parts.length === 1 ? last : { ...last, data: parts.flatMap((t) => (Array.isArray(t.data) ? t.data : [])) };
  }

  return {
    async show(items, index) {
      const path = items[index].value.path;
      if (path !== state.path) {
        state = { ...state, path, page: 0 };
        closeViewer();
      }
      let table = cache.get(path);
      if (!table) {
        el.replaceChildren(h("p", { class: "muted" }, "loading…"));
        try {
          table = await readTable(items[index].value);
        } catch (err) {
          el.replaceChildren(h("p", { class: "error" }, String(err.message || err)));
          return;
        }
        cache.set(path, table);
        if (state.path !== path) return; // another step was chosen meanwhile
      }
      draw(table);
    },
    destroy() {
      closeViewer();
    },
  };
}
