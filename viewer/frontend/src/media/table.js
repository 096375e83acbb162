// Table values (table-file): the table's JSON file, paginated, sortable by a column, filtered
// by text. Cells are text; a media value in a cell shows its type (drawn inline in phase 2).
import { getJSON } from "../api.js";
import { fmtValue, h } from "../dom.js";

const PAGE_ROWS = 25;

function compareCells(a, b) {
  if (typeof a === "number" && typeof b === "number") return (Number.isNaN(a) ? Infinity : a) - (Number.isNaN(b) ? Infinity : b);
  if (a == null || b == null) return a == null ? (b == null ? 0 : 1) : -1;
  return fmtValue(a, 1000).localeCompare(fmtValue(b, 1000), undefined, { numeric: true });
}

export function create(el, ctx) {
  const cache = new Map(); // path -> table JSON
  let state = { path: null, page: 0, sort: null, desc: false, filter: "" };

  function draw(table) {
    const columns = Array.isArray(table.columns) ? table.columns : [];
    let rows = Array.isArray(table.data) ? table.data : [];
    if (state.filter) {
      const f = state.filter.toLowerCase();
      rows = rows.filter((r) => r.some((c) => fmtValue(c, 1000).toLowerCase().includes(f)));
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
    const filter = h("input", {
      type: "search",
      placeholder: "filter rows",
      value: state.filter,
      oninput: (e) => {
        state.filter = e.target.value;
        state.page = 0;
        draw(table);
        const again = el.querySelector("input[type=search]");
        again.focus();
        again.setSelectionRange(again.value.length, again.value.length);
      },
    });
    const go = (p) => () => {
      state.page = p;
      draw(table);
    };
    el.replaceChildren(
      h(
        "div",
        { class: "toolbar" },
        filter,
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
          h("tbody", null, shown.map((r) => h("tr", null, columns.map((_, i) => h("td", null, fmtValue(r[i], 200)))))),
        ),
      ),
    );
  }

  return {
    async show(items, index) {
      const path = items[index].value.path;
      if (path !== state.path) state = { ...state, path, page: 0 };
      let table = cache.get(path);
      if (!table) {
        el.replaceChildren(h("p", { class: "muted" }, "loading…"));
        try {
          table = await getJSON(ctx.file(path));
        } catch (err) {
          el.replaceChildren(h("p", { class: "error" }, String(err.message || err)));
          return;
        }
        cache.set(path, table);
        if (state.path !== path) return; // another step was chosen meanwhile
      }
      draw(table);
    },
  };
}
