// Tiny image helpers for the detector fixtures: decode JPEG/PNG, crop,
// area-resample, paste, write PNG. Images are { width, height, data } with
// data a Uint8Array of RGB triplets, row-major, top row first.
import fs from 'fs';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

function fromRGBA(width, height, rgba) {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < width * height; i++, j += 4) {
    data[i * 3] = rgba[j];
    data[i * 3 + 1] = rgba[j + 1];
    data[i * 3 + 2] = rgba[j + 2];
  }
  return { width, height, data };
}

export function readImage(file) {
  const buf = fs.readFileSync(file);
  if (buf[0] === 0x89 && buf[1] === 0x50) {
    const png = PNG.sync.read(buf); // always expanded to 8-bit RGBA
    return fromRGBA(png.width, png.height, png.data);
  }
  const im = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true });
  return fromRGBA(im.width, im.height, im.data);
}

export function isGray(img) {
  const d = img.data;
  for (let i = 0; i < d.length; i += 3) if (d[i] !== d[i + 1] || d[i] !== d[i + 2]) return false;
  return true;
}

// Writes an 8-bit PNG: grayscale when every pixel has R=G=B, RGB otherwise.
export function writePng(img, file) {
  const png = new PNG({ width: img.width, height: img.height });
  for (let i = 0; i < img.width * img.height; i++) {
    png.data[i * 4] = img.data[i * 3];
    png.data[i * 4 + 1] = img.data[i * 3 + 1];
    png.data[i * 4 + 2] = img.data[i * 3 + 2];
    png.data[i * 4 + 3] = 255;
  }
  const colorType = isGray(img) ? 0 : 2;
  fs.writeFileSync(file, PNG.sync.write(png, { colorType, inputColorType: 6, inputHasAlpha: true, deflateLevel: 9 }));
}

export function blank(width, height, fn) {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b] = fn(x, y);
      const i = (y * width + x) * 3;
      data[i] = r; data[i + 1] = g; data[i + 2] = b;
    }
  }
  return { width, height, data };
}

export function crop(img, x0, y0, w, h) {
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    const src = ((y0 + y) * img.width + x0) * 3;
    out.set(img.data.subarray(src, src + w * 3), y * w * 3);
  }
  return { width: w, height: h, data: out };
}

// Per-axis area weights for shrinking n source samples to m (m <= n):
// output i covers source interval [i*n/m, (i+1)*n/m).
function areaWeights(n, m) {
  const s = n / m;
  const taps = [];
  for (let i = 0; i < m; i++) {
    const a = i * s, b = (i + 1) * s;
    const list = [];
    for (let k = Math.floor(a); k < Math.min(n, Math.ceil(b)); k++) {
      const w = Math.min(b, k + 1) - Math.max(a, k);
      if (w > 1e-9) list.push([k, w / s]);
    }
    taps.push(list);
  }
  return taps;
}

// Shrinks with box (area) filtering, like OpenCV's INTER_AREA; rounds to 8 bits.
export function shrink(img, w, h) {
  if (w > img.width || h > img.height) throw new Error('shrink only makes images smaller');
  const tx = areaWeights(img.width, w), ty = areaWeights(img.height, h);
  const tmp = new Float64Array(img.height * w * 3);
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (const [k, wt] of tx[x]) s += wt * img.data[(y * img.width + k) * 3 + c];
        tmp[(y * w + x) * 3 + c] = s;
      }
    }
  }
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (const [k, wt] of ty[y]) s += wt * tmp[(k * w + x) * 3 + c];
        out[(y * w + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(s)));
      }
    }
  }
  return { width: w, height: h, data: out };
}

export function paste(dst, src, x0, y0) {
  for (let y = 0; y < src.height; y++) {
    const dy = y0 + y;
    if (dy < 0 || dy >= dst.height) continue;
    for (let x = 0; x < src.width; x++) {
      const dx = x0 + x;
      if (dx < 0 || dx >= dst.width) continue;
      const s = (y * src.width + x) * 3, d = (dy * dst.width + dx) * 3;
      dst.data[d] = src.data[s]; dst.data[d + 1] = src.data[s + 1]; dst.data[d + 2] = src.data[s + 2];
    }
  }
}

// Deterministic PRNG (mulberry32) so fixtures rebuild byte-identically.
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
