// Reference descriptors of dlib's face-recognition ResNet as face-api runs
// it, for emotrace's C test (tests/test_vision_embed.c).
//
// For each photo listed below (faces-in-the-wild, Apache-2.0), cuts a
// 150x150 face chip (a fixed square around the centre of these loose crops,
// area-averaged down, rounded to 8 bits) and writes it to
// tests/fixtures/embed/<name>.png; then runs face-api's own
// FaceRecognitionNet (@vladmandic/face-api, on @tensorflow/tfjs' pure-JS cpu
// backend) on that chip and writes the 128 descriptor values, one per line,
// to tests/fixtures/embed/<name>.txt. The C test feeds the same PNG to
// weights/face-embed.safetensors and compares.
//
// Usage (from this folder): npm ci && node make_reference.mjs
// Reads ../../../shared/data/faces-in-the-wild/images (FACES_DIR overrides).
// Deterministic: running it again gives byte-identical files.
import fs from 'fs';
import path from 'path';
import { createRequire } from 'module';
import { fileURLToPath } from 'url';

const require = createRequire(import.meta.url);
const jpeg = require('jpeg-js');
const { PNG } = require('pngjs');

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const out = path.join(repo, 'tests/fixtures/embed');
const faces = process.env.FACES_DIR || path.resolve(repo, '../shared/data/faces-in-the-wild/images');
const modelDir = path.join(here, 'node_modules/@vladmandic/face-api/model');

// Two photos each of three people, and one more person.
const PHOTOS = ['George_W_Bush_0001.jpg', 'George_W_Bush_0003.jpg', 'Colin_Powell_0007.jpg',
  'Colin_Powell_0030.jpg', 'Serena_Williams_0001.jpg', 'Serena_Williams_0005.jpg', 'Adam_Mair_0001.jpg'];
const CHIP = 150;

function readJpeg(file) {
  const im = jpeg.decode(fs.readFileSync(file), { useTArray: true, formatAsRGBA: true });
  return im;
}

// A square of side 0.64 w, centred 0.06 w below the image centre (where these
// LFW-style crops have the face), area-averaged to CHIP x CHIP RGB bytes.
function cutChip(im) {
  const side = 0.64 * im.width;
  const x0 = (im.width - side) / 2;
  const y0 = (im.height - side) / 2 + 0.06 * im.width;
  const chip = new Uint8Array(CHIP * CHIP * 3);
  const k = side / CHIP;
  const sub = Math.max(1, Math.ceil(k));
  for (let v = 0; v < CHIP; v++) {
    for (let u = 0; u < CHIP; u++) {
      const sum = [0, 0, 0];
      for (let sy = 0; sy < sub; sy++) {
        for (let sx = 0; sx < sub; sx++) {
          const x = Math.min(im.width - 1, Math.max(0, Math.floor(x0 + (u + (sx + 0.5) / sub) * k)));
          const y = Math.min(im.height - 1, Math.max(0, Math.floor(y0 + (v + (sy + 0.5) / sub) * k)));
          for (let c = 0; c < 3; c++) sum[c] += im.data[(y * im.width + x) * 4 + c];
        }
      }
      for (let c = 0; c < 3; c++) chip[(v * CHIP + u) * 3 + c] = Math.round(sum[c] / (sub * sub));
    }
  }
  return chip;
}

function writePng(chip, file) {
  const png = new PNG({ width: CHIP, height: CHIP });
  for (let i = 0; i < CHIP * CHIP; i++) {
    png.data.set([chip[i * 3], chip[i * 3 + 1], chip[i * 3 + 2], 255], i * 4);
  }
  fs.writeFileSync(file, PNG.sync.write(png, { colorType: 2, deflateLevel: 9 }));
}

let tf;
async function main() {
  const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
  ({ tf } = faceapi);
  await tf.setBackend('cpu');
  await tf.ready();
  const manifest = JSON.parse(fs.readFileSync(path.join(modelDir, 'face_recognition_model-weights_manifest.json')));
  const bin = fs.readFileSync(path.join(modelDir, 'face_recognition_model.bin'));
  const weights = tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
    manifest.flatMap((g) => g.weights));
  const net = new faceapi.FaceRecognitionNet();
  net.loadFromWeightMap(weights);
  fs.mkdirSync(out, { recursive: true });
  for (const photo of PHOTOS) {
    const chip = cutChip(readJpeg(path.join(faces, photo)));
    const stem = photo.replace(/\.jpg$/, '');
    writePng(chip, path.join(out, `${stem}.png`));
    const input = tf.tensor3d(chip, [CHIP, CHIP, 3], 'int32');
    const descriptor = await net.computeFaceDescriptor(input);
    input.dispose();
    fs.writeFileSync(path.join(out, `${stem}.txt`), Array.from(descriptor, (v) => v.toPrecision(9)).join('\n') + '\n');
    console.log(stem, Array.from(descriptor.slice(0, 3), (v) => v.toFixed(5)).join(' '));
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
