// Builds the viewer into ../static (shipped inside the Python package). See scripts/build-viewer.sh.
import { writeFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import { defineConfig } from "vite";

const here = import.meta.dirname;

// Records which npm packages end up in the built assets (every chunk, the lazily loaded ones
// too), so licenses.mjs lists exactly those: node_modules/.bundled-packages.json.
function bundledPackages() {
  return {
    name: "localrun-bundled-packages",
    generateBundle(_, bundle) {
      const dirs = new Set();
      for (const chunk of Object.values(bundle)) {
        if (chunk.type !== "chunk") continue;
        for (const id of chunk.moduleIds || Object.keys(chunk.modules || {})) {
          const m = id.replace(/\\/g, "/").match(/^(.*\/node_modules\/(?:@[^/]+\/)?[^/]+)\//);
          if (m) dirs.add(relative(here, m[1]).replace(/\\/g, "/"));
        }
      }
      writeFileSync(resolve(here, "node_modules/.bundled-packages.json"), JSON.stringify([...dirs].sort(), null, 1));
    },
  };
}

export default defineConfig({
  base: "/",
  plugins: [bundledPackages()],
  build: {
    outDir: resolve(here, "../static"),
    emptyOutDir: true,
    assetsDir: "assets",
    target: "es2022",
    sourcemap: false,
    // No inline scripts anywhere: the pages run under a CSP without 'unsafe-inline'.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    // three.js, 3Dmol.js and Vega are chunks of their own, loaded when a value needs them.
    chunkSizeWarningLimit: 1200,
    rollupOptions: {
      input: {
        index: resolve(here, "index.html"),
        login: resolve(here, "login.html"),
      },
    },
  },
});
