// Cross-checks the committed reference against MediaPipe's own .tflite files
// run by the TensorFlow Lite runtime (the XNNPACK-enabled wasm build shipped
// in @tensorflow/tfjs-tflite; its emscripten module is used directly, the
// browser-only client around it is not). Writes nothing.
//
// For every (image, model) in tests/fixtures/detector/ref/manifest.txt it
// feeds the stored input tensor to face_detection_short_range.tflite or
// face_detection_full_range_sparse.tflite, compares the raw outputs with the
// stored .f32 files, decodes them with the same post-processing and compares
// the detections with the stored .detections.csv. With --dense it also runs
// the dense face_detection_full_range.tflite, which has different weights.
//
// Usage (from this folder): npm ci && node check_tflite.mjs [--dense]
import fs from 'fs';
import path from 'path';
import { createRequire } from 'module';
import { fileURLToPath } from 'url';
import { readImage } from './imageio.mjs';
import { MODELS, generateAnchors, toFloatTensor, decode, weightedNms } from './blazeface.mjs';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const refDir = path.resolve(here, '../../tests/fixtures/detector/ref');
const wasmDir = path.join(here, 'node_modules/@tensorflow/tfjs-tflite/wasm');
const tfliteDir = path.join(here, 'node_modules/@mediapipe/face_detection');

async function tfliteRunner(file) {
  const factory = require(path.join(wasmDir, 'tflite_web_api_cc_simd.js'));
  const mod = await factory({ wasmBinary: fs.readFileSync(path.join(wasmDir, 'tflite_web_api_cc_simd.wasm')), print: () => {}, printErr: () => {} });
  const bytes = new Uint8Array(fs.readFileSync(file));
  const ptr = mod._malloc(bytes.length);
  mod.HEAPU8.set(bytes, ptr);
  const created = mod.TFLiteWebModelRunner.CreateFromBufferAndOptions(ptr, bytes.length,
    { numThreads: 1, enableProfiling: false, maxProfilingBufferEntries: 1024 });
  if (!created.ok()) throw new Error(`${file}: ${created.errorMessage()}`);
  const runner = created.value();
  return (floats) => {
    const inputs = runner.GetInputs();
    inputs.get(0).data().set(floats);
    if (!runner.Infer()) throw new Error('inference failed');
    const outs = runner.GetOutputs();
    const res = {};
    for (let i = 0; i < outs.size(); i++) {
      const t = outs.get(i);
      const last = Number(String(t.shape).split(',').pop());
      res[last === 16 ? 'regressors' : 'classificators'] = Float32Array.from(t.data());
    }
    return res;
  };
}

const readF32 = (file) => {
  const b = fs.readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

function relDiff(a, b) {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return m;
}

// smallest atol with |a - b| <= atol + RTOL * |b| for every element
const RTOL = 1e-3;
function neededAtol(a, b) {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) - RTOL * Math.abs(b[i]));
  return m;
}

function readDetections(file) {
  return fs.readFileSync(file, 'utf8').trim().split('\n').slice(1).filter(Boolean).map((l) => l.split(',').map(Number));
}

async function main() {
  const dense = process.argv.includes('--dense');
  const rows = fs.readFileSync(path.join(refDir, 'manifest.txt'), 'utf8').split('\n')
    .filter((l) => l && !l.startsWith('#')).map((l) => l.split(' '));
  const runners = {};
  for (const [name, cfg] of Object.entries(MODELS)) runners[name] = await tfliteRunner(path.join(tfliteDir, cfg.tflite));
  if (dense) runners.dense = await tfliteRunner(path.join(tfliteDir, 'face_detection_full_range.tflite'));
  const anchors = Object.fromEntries(Object.entries(MODELS).map(([n, c]) => [n, generateAnchors(c.tensor, c.anchors)]));

  let worst = { raw: 0, box: 0, score: 0, atol: 0 };
  let countMismatch = 0;
  for (const [image, model, , , , rx0, ry0, rsize] of rows) {
    const cfg = MODELS[model];
    const base = `${image.replace(/\.png$/, '')}.${model}`;
    const floats = toFloatTensor(readImage(path.join(refDir, `${base}.input.png`)).data);
    const ref = {
      regressors: readF32(path.join(refDir, `${base}.regressors.f32`)),
      classificators: readF32(path.join(refDir, `${base}.classificators.f32`)),
    };
    const out = runners[model](floats);
    const dReg = relDiff(out.regressors, ref.regressors);
    const dCls = relDiff(out.classificators, ref.classificators);
    const atol = Math.max(neededAtol(out.regressors, ref.regressors), neededAtol(out.classificators, ref.classificators));

    const px = (u) => Number(rx0) + u * Number(rsize);
    const py = (v) => Number(ry0) + v * Number(rsize);
    const dets = weightedNms(decode(out.regressors, out.classificators, anchors[model], cfg));
    const refDets = readDetections(path.join(refDir, `${base}.detections.csv`));
    let dBox = 0, dScore = 0;
    if (dets.length === refDets.length) {
      dets.forEach((d, i) => {
        const r = refDets[i];
        dScore = Math.max(dScore, Math.abs(d.score - r[0]));
        const mine = [px(d.xmin), py(d.ymin), (d.xmax - d.xmin) * rsize, (d.ymax - d.ymin) * rsize, ...d.kp.map((v, k) => (k % 2 ? py(v) : px(v)))];
        mine.forEach((v, k) => { dBox = Math.max(dBox, Math.abs(v - r[1 + k])); });
      });
    } else countMismatch++;
    worst = { raw: Math.max(worst.raw, dReg, dCls), box: Math.max(worst.box, dBox), score: Math.max(worst.score, dScore), atol: Math.max(worst.atol, atol) };
    let line = `${model.padEnd(5)} ${image.padEnd(26)} raw rel diff: classificators ${dCls.toExponential(2)} regressors ${dReg.toExponential(2)}; ` +
      `detections ${dets.length} (ref ${refDets.length})`;
    if (dets.length === refDets.length && dets.length) line += `, max |diff| box/keypoints ${dBox.toFixed(3)} px, score ${dScore.toExponential(2)}`;
    if (dense && model === 'full') {
      const o = runners.dense(floats);
      const dd = weightedNms(decode(o.regressors, o.classificators, anchors.full, cfg));
      line += `\n      dense face_detection_full_range.tflite: raw rel diff ${relDiff(o.regressors, ref.regressors).toExponential(2)}, detections ${dd.length}`;
    }
    console.log(line);
  }
  console.log(`worst: raw outputs ${worst.raw.toExponential(2)} (|diff|/max(1,|ref|)); |diff| <= atol + ${RTOL}*|ref| holds with atol ${worst.atol.toExponential(2)}; ` +
    `boxes/keypoints ${worst.box.toFixed(3)} px, ` +
    `scores ${worst.score.toExponential(2)}; images with a different detection count: ${countMismatch}`);
}

main().catch((e) => { console.error(e); process.exit(1); });
