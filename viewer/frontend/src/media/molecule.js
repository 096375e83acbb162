// Molecule values (molecule-file): the file drawn by 3Dmol.js (loaded on first use), which reads
// every format localrun stores (pdb, pqr, mmcif/mcif/cif, sdf/sd, gro, mol2, mmtf). A protein
// (a chain of residues with alpha carbons) is drawn as a cartoon coloured along the chain, with
// its other molecules (ligands, ions) as sticks; anything smaller as balls and sticks coloured
// by element. Drag to turn, wheel to zoom.
import { h } from "../dom.js";

const FORMATS = { pdb: "pdb", pqr: "pqr", mmcif: "cif", mcif: "cif", cif: "cif", sdf: "sdf", sd: "sdf", gro: "gro", mol2: "mol2", mmtf: "mmtf" };
const BACKGROUND = "#f4f5f7";

export function create(el, ctx) {
  const stage = h("div", { class: "mol-stage" });
  const info = h("div", { class: "muted small mol-info" });
  el.replaceChildren(stage, info);
  let viewer = null;
  let token = 0;
  let last = null;

  async function draw(value) {
    const my = ++token;
    const ext = String(value.path).toLowerCase().split(".").pop();
    const format = FORMATS[ext];
    if (!format) {
      info.textContent = `.${ext} files are not drawn here`;
      return;
    }
    info.textContent = "loading…";
    try {
      const [$3Dmol, data] = await Promise.all([
        import("3dmol"),
        fetch(ctx.file(value.path), { credentials: "same-origin" }).then((r) => {
          if (!r.ok) throw new Error(`${r.status} ${r.statusText}`);
          return format === "mmtf" ? r.arrayBuffer() : r.text();
        }),
      ]);
      if (my !== token) return;
      if (!viewer) viewer = $3Dmol.createViewer(stage, { backgroundColor: BACKGROUND, antialias: true });
      viewer.clear();
      const model = viewer.addModel(format === "mmtf" ? new Uint8Array(data) : data, format);
      const atoms = model.selectedAtoms({});
      if (!atoms.length) throw new Error(`no atoms in this ${format} file`);
      const protein = atoms.filter((a) => a.atom === "CA" && !a.hetflag).length >= 3;
      if (protein) {
        viewer.setStyle({}, { cartoon: { color: "spectrum" } });
        viewer.setStyle({ hetflag: true }, { stick: { radius: 0.2 } });
      } else {
        viewer.setStyle({}, { stick: { radius: 0.15 }, sphere: { scale: 0.28 } });
      }
      viewer.zoomTo();
      viewer.render();
      stage.dataset.drawn = format;
      info.textContent = [`${atoms.length} atoms (${format})`, value.caption != null ? String(value.caption) : null].filter(Boolean).join(" · ");
    } catch (err) {
      if (my === token) info.textContent = `cannot draw this molecule: ${err.message || err}`;
    }
  }

  return {
    show(items, index) {
      const value = items[index].value;
      const values = (Array.isArray(value) ? value : [value]).filter((v) => v && typeof v.path === "string");
      const paths = values.map((v) => v.path).join("\n");
      if (!values.length || paths === last) return; // the same files: a live refresh changes nothing
      last = paths;
      draw(values[0]);
    },
    destroy() {
      token++;
      if (viewer) viewer.clear();
    },
  };
}
