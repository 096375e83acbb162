// A mask file's class ids, exactly: masks are PNGs whose pixel values are class ids (8-bit
// grayscale, 16-bit when an id is over 255, or a palette image whose indices are the ids:
// docs/media.md). A browser's own decoder would turn 16 bits into 8 and palette indices into
// colours, so the PNG is decoded here: its IDAT chunks inflated by the browser's
// DecompressionStream, the scanlines unfiltered, the first channel of each pixel read.
// (An interlaced PNG, which the recorder never writes, is read through the browser's decoder
// instead: its red channel.)

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];
const CHANNELS = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

async function inflate(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function paeth(a, b, c) {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** PNG bytes -> {width, height, ids: Uint16Array of width*height}, or null if interlaced. */
export async function decodeMask(buffer) {
  const b = new Uint8Array(buffer);
  if (!SIGNATURE.every((v, i) => b[i] === v)) throw new Error("not a PNG file");
  const view = new DataView(buffer);
  let pos = 8;
  let width = 0;
  let height = 0;
  let depth = 8;
  let type = 0;
  let interlaced = false;
  const idat = [];
  while (pos + 8 <= b.length) {
    const len = view.getUint32(pos);
    const name = String.fromCharCode(b[pos + 4], b[pos + 5], b[pos + 6], b[pos + 7]);
    const data = b.subarray(pos + 8, pos + 8 + len);
    if (name === "IHDR") {
      width = view.getUint32(pos + 8);
      height = view.getUint32(pos + 12);
      depth = data[8];
      type = data[9];
      interlaced = data[12] === 1;
    } else if (name === "IDAT") {
      idat.push(data);
    } else if (name === "IEND") {
      break;
    }
    pos += 12 + len;
  }
  if (interlaced) return null;
  const channels = CHANNELS[type];
  if (!channels || !width || !height) throw new Error(`a PNG of colour type ${type} is not a mask`);
  const raw = await inflate(await new Blob(idat).arrayBuffer());
  const bpp = Math.max(1, (channels * depth) >> 3); // bytes per pixel, for the filters
  const stride = Math.ceil((width * channels * depth) / 8);
  const ids = new Uint16Array(width * height);
  let prev = new Uint8Array(stride);
  let line = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const start = y * (stride + 1);
    const filter = raw[start];
    for (let x = 0; x < stride; x++) {
      const v = raw[start + 1 + x];
      const a = x >= bpp ? line[x - bpp] : 0;
      const up = prev[x];
      const c = x >= bpp ? prev[x - bpp] : 0;
      line[x] = (v + (filter === 1 ? a : filter === 2 ? up : filter === 3 ? (a + up) >> 1 : filter === 4 ? paeth(a, up, c) : 0)) & 255;
    }
    const row = y * width;
    if (depth === 16) {
      for (let x = 0; x < width; x++) ids[row + x] = (line[x * channels * 2] << 8) | line[x * channels * 2 + 1];
    } else if (depth === 8) {
      for (let x = 0; x < width; x++) ids[row + x] = line[x * channels];
    } else {
      const per = 8 / depth;
      const mask = (1 << depth) - 1;
      for (let x = 0; x < width; x++) ids[row + x] = (line[Math.floor(x / per)] >> ((per - 1 - (x % per)) * depth)) & mask;
    }
    [prev, line] = [line, prev];
  }
  return { width, height, ids };
}

/** The red channel of an image the browser decodes (for masks decodeMask cannot read). */
export async function decodeWithBrowser(blob) {
  const bmp = await createImageBitmap(blob, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
  const canvas = new OffscreenCanvas(bmp.width, bmp.height);
  const g = canvas.getContext("2d");
  g.drawImage(bmp, 0, 0);
  const px = g.getImageData(0, 0, bmp.width, bmp.height).data;
  const ids = new Uint16Array(bmp.width * bmp.height);
  for (let i = 0; i < ids.length; i++) ids[i] = px[i * 4];
  return { width: bmp.width, height: bmp.height, ids };
}

const cache = new Map(); // url -> Promise of {width, height, ids}

/** The class ids of the mask file at `url` (fetched and decoded once per page). */
export function loadMask(url) {
  if (!cache.has(url)) {
    const p = fetch(url, { credentials: "same-origin" }).then(async (r) => {
      if (!r.ok) throw new Error(`mask file: ${r.status} ${r.statusText}`);
      const blob = await r.blob();
      return (await decodeMask(await blob.arrayBuffer())) || decodeWithBrowser(blob);
    });
    cache.set(url, p);
    p.catch(() => cache.delete(url));
  }
  return cache.get(url);
}
