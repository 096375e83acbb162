// Client-side routing: the server answers every page path with index.html; this picks the
// page for the path and follows links between pages without reloading. A page module exports
// render(root, params) and may return a cleanup function (stopping its timers), run when
// another page replaces it.
import { clear, h } from "./dom.js";

let routes = [];
let cleanup = null;
let generation = 0;

export function start(table) {
  routes = table;
  document.addEventListener("click", (e) => {
    const a = e.target.closest && e.target.closest("a[data-route]");
    if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(a.getAttribute("href"));
  });
  window.addEventListener("popstate", show);
  show();
}

/** Go to one of the viewer's pages. */
export function navigate(url) {
  history.pushState(null, "", url);
  show();
}

async function show() {
  const root = document.getElementById("app");
  const mine = ++generation;
  if (cleanup) {
    cleanup();
    cleanup = null;
  }
  clear(root);
  const path = location.pathname;
  for (const [pattern, page, params] of routes) {
    const m = pattern.exec(path);
    if (!m) continue;
    try {
      const done = await page.render(root, { ...params(m), query: new URLSearchParams(location.search) });
      if (mine === generation) cleanup = done || null;
      else if (done) done(); // another page was asked for meanwhile
    } catch (err) {
      if (mine === generation) showError(root, err);
    }
    return;
  }
  root.appendChild(h("p", { class: "error" }, `No page at ${path}. `, h("a", { href: "/" }, "All runs")));
}

export function showError(root, err) {
  root.appendChild(h("p", { class: "error" }, String((err && err.message) || err)));
}
