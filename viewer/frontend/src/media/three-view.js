// The 3-D view of Object3D values, with three.js (loaded only when a 3-D value is shown:
// object3d.js imports this module dynamically). Draws:
// - point clouds (`.pts.json`, a list of rows): N x 3 coloured by height, N x 4 by category
//   (1..14), N x 6 by their own r, g, b (0..255);
// - lidar scenes ({"type": "lidar/beta", points, boxes, vectors}): the points, each box as its
//   12 edges in its colour with its label (and score) beside it, each vector as an arrow;
// - model files: glTF (.gltf, .glb), OBJ and STL, with three.js's own loaders.
// Orbit controls: drag to turn, wheel to zoom, right-drag to pan; it draws only when the
// camera moves. Labels are drawn onto canvas textures: text, never markup.
import * as THREE from "three";
import { OrbitControls } from "three/addons/controls/OrbitControls.js";
import { GLTFLoader } from "three/addons/loaders/GLTFLoader.js";
import { OBJLoader } from "three/addons/loaders/OBJLoader.js";
import { STLLoader } from "three/addons/loaders/STLLoader.js";
import { classColor } from "./overlay.js";

const HEIGHT = 360;
const BACKGROUND = 0xf4f5f7;

function clamp255(v) {
  const n = Number(v);
  return Number.isFinite(n) ? Math.min(255, Math.max(0, n)) / 255 : 0;
}

function colorOf(rgb, fallback) {
  return Array.isArray(rgb) && rgb.length >= 3 ? new THREE.Color(clamp255(rgb[0]), clamp255(rgb[1]), clamp255(rgb[2])) : new THREE.Color(fallback);
}

/** Points: rows of 3, 4 or 6 numbers -> THREE.Points with a colour per point. */
function pointCloud(rows) {
  const pts = rows.filter((r) => Array.isArray(r) && r.length >= 3 && r.slice(0, 3).every(Number.isFinite));
  const pos = new Float32Array(pts.length * 3);
  const col = new Float32Array(pts.length * 3);
  let zlo = Infinity;
  let zhi = -Infinity;
  for (const r of pts) {
    zlo = Math.min(zlo, r[2]);
    zhi = Math.max(zhi, r[2]);
  }
  const c = new THREE.Color();
  pts.forEach((r, i) => {
    pos.set([r[0], r[1], r[2]], i * 3);
    if (r.length >= 6) c.setRGB(clamp255(r[3]), clamp255(r[4]), clamp255(r[5]));
    else if (r.length === 4) c.setRGB(...classColor(r[3]).map((v) => v / 255));
    else c.setHSL(0.66 - 0.66 * (zhi > zlo ? (r[2] - zlo) / (zhi - zlo) : 0.5), 0.75, 0.45); // blue low, red high
    col.set([c.r, c.g, c.b], i * 3);
  });
  const geometry = new THREE.BufferGeometry();
  geometry.setAttribute("position", new THREE.BufferAttribute(pos, 3));
  geometry.setAttribute("color", new THREE.BufferAttribute(col, 3));
  const material = new THREE.PointsMaterial({ size: 4, sizeAttenuation: false, vertexColors: true });
  return new THREE.Points(geometry, material);
}

/**
 * The 12 edges of a box given by its 8 corners in any order: two corners are joined by an edge
 * when no third corner sees them at a right angle (a face or space diagonal always has such a
 * corner, by Thales). The 12 pairs furthest from having one are taken.
 */
export function boxEdges(corners) {
  const v = corners.map((p) => new THREE.Vector3(p[0], p[1], p[2]));
  const pairs = [];
  for (let i = 0; i < 8; i++) {
    for (let j = i + 1; j < 8; j++) {
      let right = Infinity; // how close to 90 degrees the best third corner gets (|cos|)
      for (let k = 0; k < 8; k++) {
        if (k === i || k === j) continue;
        const a = v[i].clone().sub(v[k]);
        const b = v[j].clone().sub(v[k]);
        const n = a.length() * b.length();
        if (n > 0) right = Math.min(right, Math.abs(a.dot(b)) / n);
      }
      pairs.push([right, i, j]);
    }
  }
  pairs.sort((a, b) => b[0] - a[0]);
  return pairs.slice(0, 12).map(([, i, j]) => [v[i], v[j]]);
}

function textSprite(text, color, height) {
  const canvas = document.createElement("canvas");
  const g = canvas.getContext("2d");
  const font = "28px sans-serif";
  g.font = font;
  canvas.width = Math.ceil(g.measureText(text).width) + 12;
  canvas.height = 40;
  g.font = font;
  g.fillStyle = color.getStyle();
  g.fillRect(0, 0, canvas.width, canvas.height);
  g.fillStyle = "#fff";
  g.textBaseline = "middle";
  g.fillText(text, 6, 21);
  const texture = new THREE.CanvasTexture(canvas);
  texture.colorSpace = THREE.SRGBColorSpace;
  const sprite = new THREE.Sprite(new THREE.SpriteMaterial({ map: texture, depthTest: false }));
  sprite.scale.set((height * canvas.width) / canvas.height, height, 1);
  return sprite;
}

/** A lidar/beta scene: points, boxes (edges and labels), vectors (arrows). */
function lidarScene(scene) {
  const group = new THREE.Group();
  const legend = [];
  if (Array.isArray(scene.points) && scene.points.length) group.add(pointCloud(scene.points));
  const extent = new THREE.Box3().setFromObject(group);
  const size = extent.isEmpty() ? 1 : extent.getSize(new THREE.Vector3()).length() || 1;
  for (const box of Array.isArray(scene.boxes) ? scene.boxes : []) {
    if (!box || !Array.isArray(box.corners) || box.corners.length !== 8) continue;
    if (!box.corners.every((p) => Array.isArray(p) && p.length >= 3 && p.slice(0, 3).every(Number.isFinite))) continue;
    const color = colorOf(box.color, 0x2ca02c);
    const edges = boxEdges(box.corners);
    const geometry = new THREE.BufferGeometry().setFromPoints(edges.flat());
    group.add(new THREE.LineSegments(geometry, new THREE.LineBasicMaterial({ color })));
    const label = [box.label != null ? String(box.label) : null, typeof box.score === "number" ? String(Number(box.score.toPrecision(3))) : null].filter(Boolean).join(" ");
    if (label) {
      const top = edges.flat().reduce((a, b) => (b.z > a.z ? b : a));
      const sprite = textSprite(label, color, size / 30);
      sprite.position.copy(top).add(new THREE.Vector3(0, 0, size / 40));
      group.add(sprite);
    }
    legend.push({ kind: "box", label, color: color.getStyle() });
  }
  for (const vec of Array.isArray(scene.vectors) ? scene.vectors : []) {
    if (!vec || !Array.isArray(vec.start) || !Array.isArray(vec.end)) continue;
    const a = new THREE.Vector3(...vec.start.slice(0, 3).map(Number));
    const b = new THREE.Vector3(...vec.end.slice(0, 3).map(Number));
    const dir = b.clone().sub(a);
    const len = dir.length();
    if (!(len > 0) || !Number.isFinite(len)) continue;
    const color = colorOf(vec.color, 0xd62728);
    group.add(new THREE.ArrowHelper(dir.normalize(), a, len, color, Math.min(len * 0.25, size / 15), Math.min(len * 0.12, size / 30)));
    legend.push({ kind: "vector", label: "", color: color.getStyle() });
  }
  return { group, legend };
}

function gltfModel(data) {
  return new Promise((resolve, reject) => new GLTFLoader().parse(data, "", (g) => resolve(g.scene), (e) => reject(new Error(`glTF: ${e.message || e}`))));
}

function stlModel(buffer) {
  const geometry = new STLLoader().parse(buffer);
  if (!geometry.hasAttribute("normal")) geometry.computeVertexNormals();
  return new THREE.Mesh(geometry, new THREE.MeshStandardMaterial({ color: 0x8fa8c8, side: THREE.DoubleSide, flatShading: true }));
}

function objModel(text) {
  const group = new OBJLoader().parse(text);
  group.traverse((o) => {
    if (o.isMesh) o.material = new THREE.MeshStandardMaterial({ color: 0x8fa8c8, side: THREE.DoubleSide, flatShading: true });
  });
  return group;
}

// A browser gives a page a few WebGL contexts (Chromium: 16) and drops the oldest past that. So
// at most MAX_LIVE views hold one: when another is made, the view shown longest ago is parked
// (its last picture kept as an image, its context released) until it is clicked.
const MAX_LIVE = 8;
const live = []; // views holding a WebGL context, least recently used first

function touch(view) {
  const i = live.indexOf(view);
  if (i >= 0) live.splice(i, 1);
  live.push(view);
  while (live.length > MAX_LIVE) live.shift().park();
}

/** A view in `el`; show(kind, buffer) draws a value's file in it. */
export function createView(el) {
  const scene = new THREE.Scene();
  scene.add(new THREE.HemisphereLight(0xffffff, 0x667788, 2.2));
  const sun = new THREE.DirectionalLight(0xffffff, 1.5);
  scene.add(sun);
  const camera = new THREE.PerspectiveCamera(50, 1, 0.01, 1000);
  let renderer = null;
  let controls = null;
  const target = new THREE.Vector3(); // what the camera turns about, kept while parked
  let parked = null; // the <img> standing in for a parked view
  let content = null;
  let drawn = "";
  const render = () => {
    if (!renderer) return;
    sun.position.copy(camera.position);
    renderer.render(scene, camera);
  };
  const resize = () => {
    if (!renderer) return;
    const w = el.clientWidth || 400;
    renderer.setSize(w, HEIGHT);
    camera.aspect = w / HEIGHT;
    camera.updateProjectionMatrix();
    render();
  };
  const observer = new ResizeObserver(resize);
  observer.observe(el);

  // Orbit controls turn about camera.up as it is when they are made: made again when it changes.
  function bindControls() {
    if (controls) {
      target.copy(controls.target);
      controls.dispose();
    }
    controls = new OrbitControls(camera, renderer.domElement);
    controls.target.copy(target);
    controls.update();
    controls.addEventListener("change", render);
  }

  const view = {
    /** Give the view a WebGL context (again): a canvas with orbit controls. */
    wake() {
      if (!renderer) {
        renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
        renderer.setPixelRatio(window.devicePixelRatio || 1);
        renderer.setClearColor(BACKGROUND);
        const canvas = renderer.domElement;
        canvas.classList.add("three");
        if (drawn) canvas.dataset.drawn = drawn;
        bindControls();
        if (parked) parked.replaceWith(canvas);
        else el.append(canvas);
        parked = null;
        resize();
      }
      touch(view);
    },
    /** Keep the picture, release the context. */
    park() {
      if (!renderer) return;
      parked = document.createElement("img");
      parked.className = "three-parked";
      parked.src = renderer.domElement.toDataURL();
      parked.alt = "3-D view (click to turn it again)";
      parked.title = "click to turn it again";
      parked.addEventListener("click", () => view.wake(), { once: true });
      renderer.domElement.replaceWith(parked);
      target.copy(controls.target);
      controls.dispose();
      controls = null;
      renderer.dispose();
      renderer.forceContextLoss();
      renderer = null;
    },
  };

  function frame(object, zUp) {
    const up = new THREE.Vector3(0, zUp ? 0 : 1, zUp ? 1 : 0);
    if (!up.equals(camera.up)) {
      camera.up.copy(up);
      bindControls();
    }
    const box = new THREE.Box3().setFromObject(object);
    const sphere = box.isEmpty() ? new THREE.Sphere(new THREE.Vector3(), 1) : box.getBoundingSphere(new THREE.Sphere());
    const r = sphere.radius || 1;
    const dist = (r / Math.sin(THREE.MathUtils.degToRad(camera.fov / 2))) * 1.1;
    const dir = zUp ? new THREE.Vector3(-1, -1.4, 0.9) : new THREE.Vector3(1, 0.8, 1.4);
    camera.position.copy(sphere.center).add(dir.normalize().multiplyScalar(dist));
    camera.near = dist / 100;
    camera.far = dist * 100;
    camera.updateProjectionMatrix();
    controls.target.copy(sphere.center);
    controls.update();
  }

  function dispose(object) {
    object.traverse((o) => {
      if (o.geometry) o.geometry.dispose();
      for (const m of [].concat(o.material || [])) {
        if (m.map) m.map.dispose();
        m.dispose();
      }
    });
  }

  return Object.assign(view, {
    /** kind: "pts.json", "glb", "gltf", "obj", "stl"; buffer: the file's bytes. Returns what was drawn. */
    async show(kind, buffer) {
      let object;
      let legend = [];
      let summary;
      let zUp = false;
      if (kind === "pts.json") {
        const data = JSON.parse(new TextDecoder().decode(buffer));
        zUp = true;
        if (Array.isArray(data)) {
          object = pointCloud(data);
          summary = `${object.geometry.attributes.position.count} points`;
        } else if (data && typeof data === "object") {
          ({ group: object, legend } = lidarScene(data));
          const n = Array.isArray(data.points) ? data.points.length : 0;
          summary = `${data.type || "scene"}: ${n} points, ${legend.filter((l) => l.kind === "box").length} boxes, ${legend.filter((l) => l.kind === "vector").length} vectors`;
        } else {
          throw new Error("this .pts.json holds neither a list of points nor a scene");
        }
      } else if (kind === "glb" || kind === "gltf") {
        object = await gltfModel(kind === "glb" ? buffer : new TextDecoder().decode(buffer));
      } else if (kind === "stl") {
        object = stlModel(buffer);
      } else if (kind === "obj") {
        object = objModel(new TextDecoder().decode(buffer));
      } else {
        throw new Error(`.${kind} files are not drawn here (glTF, GLB, OBJ, STL and point clouds are); download it to look at it`);
      }
      if (content) {
        scene.remove(content);
        dispose(content);
      }
      content = object;
      scene.add(object);
      view.wake();
      frame(object, zUp);
      resize();
      drawn = kind;
      renderer.domElement.dataset.drawn = kind;
      return { summary: summary || `${kind} model`, legend };
    },
    destroy() {
      observer.disconnect();
      view.park();
      const i = live.indexOf(view);
      if (i >= 0) live.splice(i, 1);
      if (content) dispose(content);
      if (parked) parked.remove();
    },
  });
}
