// A run's page: overview (state, config, summary, dropped calls), a chart per numeric key in
// sections by prefix, and a panel per media key. While the run is being written, the page asks
// for news every second and redraws what changed.
import { getKeys, getRun } from "../api.js";
import { ChartGrid, chartControls, loadOptions, PALETTE, saveOptions } from "../charts/grid.js";
import {
  clear,
  flatten,
  fmtDuration,
  fmtTime,
  fmtValue,
  groupBySection,
  h,
  kvTable,
  link,
  stateBadge,
} from "../dom.js";
import { MediaPanel } from "../media/panel.js";

const LIVE_MS = 1000;
// Pages of runs still being written (or, on a server, still being synced) look for news.
const LIVE_STATES = new Set(["running", "syncing"]);

export async function render(root, { project, id }) {
  // Keys first: reading them reads the whole run, which gives its document too (a local
  // source reads a run once for both, where asking for the document first reads it twice).
  const keys = await getKeys(project, id);
  const doc = await getRun(project, id);
  document.title = `${doc.name ?? id} · localrun`;

  const header = h("div", { class: "run-head" });
  const overview = h("section", { class: "overview" });
  const chartsRoot = h("section", { class: "charts" });
  const mediaRoot = h("section", { class: "media" });
  let options = loadOptions();
  const run = { project, id, label: doc.name ?? id, color: PALETTE[0], metrics: doc.metrics };
  const grid = new ChartGrid(chartsRoot, [run], options);
  const controlsSlot = h("div");
  root.append(
    h("p", { class: "crumbs" }, link("/", "Runs"), " / ", project, " / "),
    header,
    overview,
    h("h2", null, "Charts"),
    controlsSlot,
    chartsRoot,
    mediaRoot,
  );

  const panels = new Map();
  let xChoices = [];

  function drawHead(d) {
    clear(header).append(
      h("h1", null, d.name ?? d.id, " ", h("span", { class: "muted run-id" }, d.id)),
      stateBadge(d.state),
    );
  }

  function drawOverview(d) {
    const info = {
      project: d.project,
      state: d.state,
      created: fmtTime(d.created_at),
      updated: fmtTime(d.updated_at),
      runtime: fmtDuration(d.runtime),
      rows: d.rows,
      "last step": d.last_step,
      "exit code": d.exit_code,
      segments: d.segments,
      group: d.group,
      "job type": d.job_type,
      tags: (d.tags || []).join(", "),
      notes: d.notes,
      path: d.path,
    };
    for (const k of Object.keys(info)) if (info[k] === null || info[k] === undefined || info[k] === "") delete info[k];
    const summary = Object.fromEntries(Object.entries(flatten(d.summary || {})).filter(([k]) => !k.startsWith("_")));
    const parts = [
      h("div", { class: "panel" }, h("h3", null, "Run"), kvTable(info)),
      h("div", { class: "panel" }, h("h3", null, "Config"), kvTable(flatten(d.config || {}), { empty: "no config" })),
      h("div", { class: "panel" }, h("h3", null, "Summary"), kvTable(summary, { empty: "no summary" })),
    ];
    clear(overview).append(h("div", { class: "overview-grid" }, parts));
    const dropped = d.dropped || [];
    if (dropped.length) {
      overview.append(
        h(
          "details",
          { class: "panel dropped" },
          h("summary", null, `${dropped.length} dropped call${dropped.length === 1 ? "" : "s"}: their step was below the current step, so replay left them out (as wandb does)`),
          h(
            "table",
            { class: "kv" },
            h("thead", null, h("tr", null, h("th", null, "step"), h("th", null, "current step"), h("th", null, "keys"))),
            h(
              "tbody",
              null,
              dropped.slice(0, 200).map((x) => h("tr", null, h("td", null, fmtValue(x.step)), h("td", null, fmtValue(x.current_step)), h("td", null, (x.keys || []).join(", ")))),
            ),
          ),
        ),
      );
    }
    const damaged = d.damaged || [];
    if (damaged.length) {
      overview.append(h("p", { class: "error" }, `${damaged.length} damaged record(s) were skipped while reading this run (localrun verify lists them).`));
    }
  }

  function drawControls(k) {
    const choices = (k.x || []).filter((x) => x === "_step" || x === "_runtime" || x === "_timestamp" || (k.keys[x] && k.keys[x].type === "number"));
    if (choices.join() === xChoices.join() && controlsSlot.firstChild) return;
    xChoices = choices;
    clear(controlsSlot).append(
      chartControls(options, xChoices, (o) => {
        options = o;
        saveOptions(o);
        grid.setOptions(o);
      }),
    );
  }

  function drawKeys(k, d) {
    const numeric = Object.keys(k.keys).filter((key) => k.keys[key].type === "number");
    grid.setKeys(numeric);
    if (!numeric.length && !chartsRoot.firstChild) chartsRoot.append(h("p", { class: "muted" }, "No numeric keys logged yet."));
    const media = Object.keys(k.keys).filter((key) => !["number", "other"].includes(k.keys[key].type));
    // A chart (plot.* preset, plot_table) is a panel of its own, beside its table's panel.
    const charts = d.charts && typeof d.charts === "object" ? d.charts : {};
    const typeOf = (key) => (Object.hasOwn(charts, key) && !k.keys[key] ? "chart" : k.keys[key].type);
    for (const key of Object.keys(charts)) {
      const spec = charts[key];
      if (!k.keys[key] && spec && typeof spec.table_key === "string" && k.keys[spec.table_key]) media.push(key);
    }
    media.sort();
    for (const [section, list] of groupBySection(media.filter((key) => !panels.has(key)))) {
      let box = mediaRoot.querySelector(`:scope > details[data-section="${CSS.escape(section)}"] > .media-grid`);
      if (!box) {
        box = h("div", { class: "media-grid" });
        mediaRoot.append(h("details", { class: "section", open: true, "data-section": section }, h("summary", null, section === "" ? "Media" : `${section} (media)`), box));
      }
      for (const key of list) {
        const type = typeOf(key);
        const panel = new MediaPanel({ project, id }, key, type, type === "chart" ? charts[key] : null);
        box.append(panel.el);
        panels.set(key, panel);
      }
    }
  }

  drawHead(doc);
  drawOverview(doc);
  drawControls(keys);
  drawKeys(keys, doc);

  // Live: while the run is being written, look for news every second.
  let last = `${doc.rows}:${doc.last_step}:${doc.updated_at}:${doc.state}`;
  let busy = false;
  let timer = null;
  const poll = async () => {
    if (busy || document.hidden) return;
    busy = true;
    try {
      const d = await getRun(project, id);
      const now = `${d.rows}:${d.last_step}:${d.updated_at}:${d.state}`;
      if (now !== last) {
        last = now;
        const k = await getKeys(project, id);
        drawHead(d);
        drawOverview(d);
        drawControls(k);
        drawKeys(k, d);
        grid.refresh();
        for (const p of panels.values()) p.refresh();
      }
      if (!LIVE_STATES.has(d.state)) clearInterval(timer);
    } catch {
      /* the next tick tries again */
    } finally {
      busy = false;
    }
  };
  if (LIVE_STATES.has(doc.state)) timer = setInterval(poll, LIVE_MS);

  return () => {
    clearInterval(timer);
    grid.destroy();
    for (const p of panels.values()) p.destroy();
  };
}
