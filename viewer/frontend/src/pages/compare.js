// Compare: several runs' charts overlaid, one colour per run, and the config values that differ.
// The runs are in the URL: /compare?run=<project>/<id>&run=...
import { getKeys, getRun } from "../api.js";
import { ChartGrid, chartControls, loadOptions, PALETTE, saveOptions } from "../charts/grid.js";
import { clear, flatten, fmtValue, h, link, runPath, stateBadge } from "../dom.js";

const LIVE_MS = 2000;
const LIVE = new Set(["running", "syncing"]); // runs still written, or still synced to a server

function parseRefs(query) {
  const refs = [];
  for (const r of query.getAll("run")) {
    const i = r.indexOf("/"); // a project has no "/": the first one ends it
    if (i > 0 && i < r.length - 1) refs.push({ project: r.slice(0, i), id: r.slice(i + 1) });
  }
  return refs;
}

export async function render(root, { query }) {
  const refs = parseRefs(query);
  if (!refs.length) {
    root.append(h("h1", null, "Compare"), h("p", null, "No runs chosen: tick runs on the ", link("/", "runs page"), " and press Compare."));
    return null;
  }
  const keyLists = await Promise.all(refs.map((r) => getKeys(r.project, r.id))); // keys first: see run.js
  const docs = await Promise.all(refs.map((r) => getRun(r.project, r.id)));
  document.title = `compare ${docs.length} runs · localrun`;
  const runs = refs.map((r, i) => ({
    ...r,
    label: docs[i].name ?? r.id,
    color: PALETTE[i % PALETTE.length],
    metrics: docs[i].metrics,
  }));

  const legend = h(
    "ul",
    { class: "legend" },
    runs.map((r, i) =>
      h("li", { "data-run": `${r.project}/${r.id}` }, h("span", { class: `swatch swatch-${i % PALETTE.length}` }), link(runPath(r.project, r.id), r.label), " ", h("span", { class: "muted" }, `${r.project}/${r.id}`), " ", stateBadge(docs[i].state)),
    ),
  );
  const diffBox = h("section", { class: "panel" });
  const chartsRoot = h("section", { class: "charts" });
  let options = loadOptions();
  const grid = new ChartGrid(chartsRoot, runs, options);

  const numericKeys = () => {
    const all = new Set();
    for (const k of keyLists) for (const [key, info] of Object.entries(k.keys)) if (info.type === "number") all.add(key);
    return [...all].sort();
  };
  const xChoices = () => {
    const all = new Set(["_step", "_runtime", "_timestamp"]);
    for (const k of keyLists) for (const x of k.x || []) if (k.keys[x] && k.keys[x].type === "number") all.add(x);
    return [...all];
  };

  root.append(
    h("p", { class: "crumbs" }, link("/", "Runs"), " / compare"),
    h("h1", null, `Compare ${runs.length} runs`),
    legend,
    h("h2", null, "Config values that differ"),
    diffBox,
    h("h2", null, "Charts"),
    chartControls(options, xChoices(), (o) => {
      options = o;
      saveOptions(o);
      grid.setOptions(o);
    }),
    chartsRoot,
  );
  drawDiff(diffBox, runs, docs);
  grid.setKeys(numericKeys());

  // Running runs: refresh the charts every couple of seconds while any is still written.
  let timer = null;
  if (docs.some((d) => LIVE.has(d.state))) {
    timer = setInterval(async () => {
      if (document.hidden) return;
      try {
        const fresh = await Promise.all(refs.map((r) => getKeys(r.project, r.id)));
        fresh.forEach((k, i) => (keyLists[i] = k));
        grid.setKeys(numericKeys());
        grid.refresh();
        const states = await Promise.all(refs.map((r) => getRun(r.project, r.id)));
        if (!states.some((d) => LIVE.has(d.state))) clearInterval(timer);
      } catch {
        /* try again next time */
      }
    }, LIVE_MS);
  }
  return () => {
    clearInterval(timer);
    grid.destroy();
  };
}

function drawDiff(box, runs, docs) {
  const configs = docs.map((d) => flatten(d.config || {}));
  const keys = [...new Set(configs.flatMap((c) => Object.keys(c)))].sort();
  const text = (c, k) => (k in c ? JSON.stringify(c[k], (key, v) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v)) : "\u0000missing");
  const differ = keys.filter((k) => new Set(configs.map((c) => text(c, k))).size > 1);
  clear(box);
  if (!differ.length) {
    box.append(h("p", { class: "muted" }, runs.length > 1 ? "The runs' configs are the same." : "One run: nothing to compare."));
    return;
  }
  box.append(
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "data config-diff" },
        h("thead", null, h("tr", null, h("th", null, "config"), runs.map((r, i) => h("th", null, h("span", { class: `swatch swatch-${i % PALETTE.length}` }), r.label)))),
        h(
          "tbody",
          null,
          differ.map((k) => h("tr", null, h("th", null, k), configs.map((c) => h("td", { class: k in c ? "" : "muted" }, k in c ? fmtValue(c[k], 200) : "—")))),
        ),
      ),
    ),
  );
}
