// The runs page: every run in a table; sort, filter, choose columns, pick runs to compare.
// The table shows PAGE_ROWS runs at a time (sorting and filtering apply to all of them): a
// browser takes about a second to lay out a table of 2,000 rows, and a tenth of that for 100.
import { listRuns } from "../api.js";
import { navigate } from "../router.js";
import { clear, flatten, fmtDuration, fmtTime, fmtValue, h, link, runPath, stateBadge } from "../dom.js";

const STATES = ["running", "finished", "failed", "preempted", "crashed", "syncing"];
const COLUMNS_KEY = "localrun.runs.columns";
const REFRESH_MS = 3000;
const PAGE_ROWS = 100;

const BASE_COLUMNS = [
  { id: "project", label: "project", get: (r) => r.project },
  { id: "name", label: "name", get: (r) => r.name ?? r.id },
  { id: "state", label: "state", get: (r) => r.state },
  { id: "created", label: "created", get: (r) => r.created_at },
  { id: "runtime", label: "runtime", get: (r) => r.runtime },
  { id: "group", label: "group", get: (r) => r.group },
  { id: "tags", label: "tags", get: (r) => (r.tags || []).join(", ") },
  { id: "notes", label: "notes", get: (r) => r.notes },
];

function loadColumns() {
  try {
    const v = JSON.parse(localStorage.getItem(COLUMNS_KEY) || "[]");
    return Array.isArray(v) ? v.filter((x) => typeof x === "string") : [];
  } catch {
    return [];
  }
}

export async function render(root) {
  const state = {
    runs: [],
    text: "",
    stateFilter: "",
    project: "",
    sort: { col: "created", desc: true },
    chosen: loadColumns(), // "config.lr", "summary.loss"
    selected: new Set(), // "project/id"
    page: 0, // which PAGE_ROWS of the sorted, filtered runs are shown
  };
  const refOf = (r) => `${r.project}/${r.id}`;

  const textInput = h("input", {
    type: "search",
    placeholder: "filter: name, id, project, group, tags, notes",
    class: "filter",
    oninput: (e) => {
      state.text = e.target.value.toLowerCase();
      state.page = 0;
      draw();
    },
  });
  const stateSelect = h(
    "select",
    { onchange: (e) => ((state.stateFilter = e.target.value), (state.page = 0), draw()), "aria-label": "state" },
    h("option", { value: "" }, "any state"),
    STATES.map((s) => h("option", { value: s }, s)),
  );
  const projectSelect = h("select", {
    onchange: (e) => ((state.project = e.target.value), (state.page = 0), draw()),
    "aria-label": "project",
  });
  const compareButton = h("button", { type: "button", class: "compare", onclick: compare, disabled: true }, "Compare");
  const columnsBox = h("div", { class: "columns-list" });
  const columnsPicker = h("details", { class: "columns-picker" }, h("summary", null, "Columns"), columnsBox);
  const count = h("span", { class: "muted count" });
  const table = h("table", { class: "runs" });
  const pager = h("div", { class: "pager" });
  root.append(
    h("h1", null, "Runs"),
    h("div", { class: "toolbar" }, textInput, stateSelect, projectSelect, columnsPicker, compareButton, count),
    h("div", { class: "table-wrap" }, table),
    pager,
  );

  function drawPager(total) {
    const pages = Math.ceil(total / PAGE_ROWS);
    clear(pager);
    if (pages <= 1) return;
    const first = state.page * PAGE_ROWS;
    const go = (page) => () => {
      state.page = page;
      draw();
      table.scrollIntoView({ block: "start" });
    };
    pager.append(
      h("button", { type: "button", class: "prev", disabled: state.page === 0, onclick: go(state.page - 1) }, "‹ previous"),
      h("span", { class: "muted" }, `${(first + 1).toLocaleString()}–${Math.min(first + PAGE_ROWS, total).toLocaleString()} of ${total.toLocaleString()}`),
      h("button", { type: "button", class: "next", disabled: state.page >= pages - 1, onclick: go(state.page + 1) }, "next ›"),
    );
  }

  function compare() {
    const q = new URLSearchParams();
    for (const ref of state.selected) q.append("run", ref);
    navigate(`/compare?${q}`);
  }

  function columns() {
    const extra = state.chosen.map((id) => {
      const [where, ...rest] = id.split(".");
      const key = rest.join(".");
      return { id, label: key, title: id, get: (r) => flatten(r[where] || {})[key] };
    });
    return [...BASE_COLUMNS, ...extra];
  }

  function drawProjects() {
    const projects = [...new Set(state.runs.map((r) => r.project))].sort();
    clear(projectSelect).append(
      h("option", { value: "" }, "any project"),
      ...projects.map((p) => h("option", { value: p, selected: p === state.project }, p)),
    );
  }

  function drawColumnChoices() {
    const keys = { config: new Set(), summary: new Set() };
    for (const r of state.runs) {
      for (const k of Object.keys(flatten(r.config || {}))) keys.config.add(k);
      for (const k of Object.keys(flatten(r.summary || {}))) if (!k.startsWith("_")) keys.summary.add(k);
    }
    clear(columnsBox);
    for (const where of ["config", "summary"]) {
      const list = [...keys[where]].sort();
      if (!list.length) continue;
      columnsBox.append(h("h4", null, where));
      for (const k of list) {
        const id = `${where}.${k}`;
        columnsBox.append(
          h(
            "label",
            null,
            h("input", {
              type: "checkbox",
              checked: state.chosen.includes(id),
              onchange: (e) => {
                state.chosen = e.target.checked ? [...state.chosen, id] : state.chosen.filter((c) => c !== id);
                localStorage.setItem(COLUMNS_KEY, JSON.stringify(state.chosen));
                draw();
              },
            }),
            " ",
            k,
          ),
        );
      }
    }
  }

  function visibleRuns(cols) {
    const t = state.text;
    let runs = state.runs.filter(
      (r) =>
        (!state.stateFilter || r.state === state.stateFilter) &&
        (!state.project || r.project === state.project) &&
        (!t ||
          [r.name, r.id, r.project, r.group, r.notes, ...(r.tags || [])].some(
            (v) => typeof v === "string" && v.toLowerCase().includes(t),
          )),
    );
    const col = cols.find((c) => c.id === state.sort.col) || cols[3];
    const dir = state.sort.desc ? -1 : 1;
    runs = runs.slice().sort((a, b) => dir * compareValues(col.get(a), col.get(b)));
    return runs;
  }

  function draw() {
    const cols = columns();
    const runs = visibleRuns(cols);
    count.textContent = `${runs.length} of ${state.runs.length} runs`;
    compareButton.disabled = state.selected.size < 1;
    compareButton.textContent = `Compare (${state.selected.size})`;
    const head = h(
      "tr",
      null,
      h("th", null, ""),
      cols.map((c) =>
        h(
          "th",
          {
            class: "sortable",
            title: c.title || c.label,
            onclick: () => {
              state.sort = { col: c.id, desc: state.sort.col === c.id ? !state.sort.desc : false };
              state.page = 0;
              draw();
            },
          },
          c.label,
          state.sort.col === c.id ? (state.sort.desc ? " ▾" : " ▴") : "",
        ),
      ),
    );
    state.page = Math.max(0, Math.min(state.page, Math.ceil(runs.length / PAGE_ROWS) - 1));
    const body = h("tbody");
    for (const r of runs.slice(state.page * PAGE_ROWS, (state.page + 1) * PAGE_ROWS)) {
      const ref = refOf(r);
      body.appendChild(
        h(
          "tr",
          { "data-run": ref },
          h(
            "td",
            null,
            h("input", {
              type: "checkbox",
              "aria-label": `select ${r.name ?? r.id}`,
              checked: state.selected.has(ref),
              onchange: (e) => {
                if (e.target.checked) state.selected.add(ref);
                else state.selected.delete(ref);
                compareButton.disabled = state.selected.size < 1;
                compareButton.textContent = `Compare (${state.selected.size})`;
              },
            }),
          ),
          cols.map((c) => h("td", { class: `col-${c.id.replace(/[^a-z]/g, "")}` }, cell(c, r))),
        ),
      );
    }
    clear(table).append(h("thead", null, head), body);
    drawPager(runs.length);
  }

  function cell(c, r) {
    const v = c.get(r);
    if (c.id === "name") return link(runPath(r.project, r.id), fmtValue(v ?? r.id));
    if (c.id === "state") return stateBadge(v);
    if (c.id === "created") return fmtTime(v);
    if (c.id === "runtime") return fmtDuration(v);
    return fmtValue(v);
  }

  let seen = "";
  async function load() {
    const runs = await listRuns();
    // Redraw only when something changed (the table is rebuilt whole).
    const now = runs.map((r) => `${r.project}/${r.id}:${r.state}:${r.rows}:${r.updated_at}`).join("|");
    if (now === seen) return;
    seen = now;
    state.runs = runs;
    const known = new Set(state.runs.map(refOf));
    for (const ref of state.selected) if (!known.has(ref)) state.selected.delete(ref);
    drawProjects();
    drawColumnChoices();
    draw();
  }

  await load();
  // Keep states and runtimes current while runs are being written (and pick up new runs).
  const timer = setInterval(() => {
    if (document.hidden) return;
    load().catch(() => {});
  }, REFRESH_MS);
  return () => clearInterval(timer);
}

function compareValues(a, b) {
  const na = a === null || a === undefined || a === "";
  const nb = b === null || b === undefined || b === "";
  if (na || nb) return na && nb ? 0 : na ? 1 : -1;
  if (typeof a === "number" && typeof b === "number") {
    if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) ? (Number.isNaN(b) ? 0 : 1) : -1;
    return a - b;
  }
  return String(fmtValue(a)).localeCompare(String(fmtValue(b)), undefined, { numeric: true });
}
