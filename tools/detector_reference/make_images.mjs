// Builds the detector test images in tests/fixtures/detector/ from photos of
// shared/data/faces-in-the-wild (Apache-2.0). Deterministic: re-running gives
// byte-identical PNGs. Usage (from this folder, after `npm ci`):
//   node make_images.mjs            (sources from ../../../shared/data/...)
//   FACES_DIR=/path/to/images node make_images.mjs
import path from 'path';
import { fileURLToPath } from 'url';
import fs from 'fs';
import { readImage, writePng, blank, shrink, paste, rng } from './imageio.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const facesDir = process.env.FACES_DIR || path.resolve(repo, '../shared/data/faces-in-the-wild/images');
const outDir = path.join(repo, 'tests/fixtures/detector');
fs.mkdirSync(outDir, { recursive: true });

const src = (name) => readImage(path.join(facesDir, name));
// shrink keeping the aspect ratio so that the height becomes h
const toHeight = (img, h) => shrink(img, Math.max(1, Math.round((img.width * h) / img.height)), h);

// Smooth two-colour diagonal gradient; no noise, so it compresses well.
function gradient(w, h, c0, c1) {
  return blank(w, h, (x, y) => {
    const t = (x / (w - 1) + y / (h - 1)) / 2;
    return c0.map((v, i) => Math.round(v + (c1[i] - v) * t));
  });
}

const images = [];
function save(name, img, description, sources) {
  writePng(img, path.join(outDir, name));
  images.push({ name, width: img.width, height: img.height, description, sources });
}

// 1. A face filling the whole frame (the typical faces-in-the-wild crop), gray.
save('fill_gray.png', src('Al_Gore_0002.jpg'),
  'one face filling the whole 350x350 frame, grayscale, unchanged source', ['Al_Gore_0002.jpg']);

// 2. A colour face filling a non-square frame, shrunk by 2.
save('fill_color_nonsquare.png', shrink(src('Dileep_105.jpg'), 179, 196),
  'one face filling a non-square colour frame (357x392 source shrunk to 179x196)', ['Dileep_105.jpg']);

// 3. A head-and-shoulders colour portrait (tall), shrunk by 2.
save('portrait_color.png', toHeight(src('facial-expressions_2868582k.jpg'), 268),
  'head-and-shoulders colour portrait in a tall 178x268 frame, face about 3/4 of the width', ['facial-expressions_2868582k.jpg']);

// 4. A face downscaled to 64x64: the detector upsamples it.
save('tiny_single.png', shrink(src('Abdul_Rahman_0001.jpg'), 64, 64),
  'one face filling a 64x64 frame (350x350 source shrunk)', ['Abdul_Rahman_0001.jpg']);

// 5. Three faces at three scales on a colour gradient, 640x360.
{
  const c = gradient(640, 360, [196, 160, 120], [70, 100, 150]);
  paste(c, toHeight(src('KatrinaKaif_1.jpg'), 240), 40, 60);       // 148x240
  paste(c, shrink(src('Al_Sharpton_0003.jpg'), 150, 150), 300, 30);
  paste(c, shrink(src('Dileep_33.jpg'), 82, 90), 500, 230);
  save('group3.png', c,
    'three faces on a 640x360 colour gradient: colour portrait 148x240 at (40,60), gray face 150x150 at (300,30), colour face 82x90 at (500,230)',
    ['KatrinaKaif_1.jpg', 'Al_Sharpton_0003.jpg', 'Dileep_33.jpg']);
}

// 6. One small face (head and shoulders) near the bottom-left corner, 640x360.
{
  const c = gradient(640, 360, [120, 120, 120], [200, 200, 200]);
  const face = toHeight(src('facial-expressions_2868584k.jpg'), 130);
  paste(c, face, 4, 360 - 130 - 4);
  save('small_near_border.png', c,
    `one head-and-shoulders colour portrait ${face.width}x130 at (4,226), 4 px from the left and bottom edges of a 640x360 gray gradient`,
    ['facial-expressions_2868584k.jpg']);
}

// 7. Four faces side by side, 10 px apart, 640x170.
{
  const c = gradient(640, 170, [90, 90, 90], [160, 160, 160]);
  const names = ['Abdul_Rahman_0001.jpg', 'Dileep_50.jpg', 'Al_Leiter_0001.jpg', 'SharmilaTagore_42.jpg'];
  names.forEach((n, i) => paste(c, shrink(src(n), 150, 150), 10 + i * 157, 10));
  save('row4.png', c, 'four 150x150 faces side by side, 7 px gaps, on a 640x170 gray gradient (two colour, two gray)', names);
}

// 8. Small faces (portraits 70..110 px tall and tight crops 40..56 px),
//    the full-range model's territory, 640x360.
{
  const c = gradient(640, 360, [60, 80, 60], [170, 190, 150]);
  const placed = [
    ['facial-expressions_2868582k.jpg', 110, 30, 30], ['KatrinaKaif_1.jpg', 96, 200, 60],
    ['facial-expressions_2868585k.jpg', 84, 360, 40], ['facial-expressions_2868584k.jpg', 70, 520, 90],
    ['Al_Sharpton_0004.jpg', 56, 90, 240], ['Dileep_33.jpg', 48, 260, 260],
    ['Adrianna_Zuzic_0001.jpg', 44, 420, 250], ['Al_Leiter_0001.jpg', 40, 560, 280],
  ];
  for (const [n, h, x, y] of placed) paste(c, toHeight(src(n), h), x, y);
  save('small_faces.png', c,
    'eight small faces on a 640x360 green gradient: four head-and-shoulders portraits 70-110 px tall (top row), four tight face crops 40-56 px (bottom row)',
    placed.map((p) => p[0]));
}

// 9. A contact sheet of 11 faces that is itself one of the dataset's files, shrunk by 2.
save('mosaic11.png', shrink(src('Avinash_29.jpg'), 372, 124),
  'a dataset file that is a 6+5 grid of face thumbnails (744x248 shrunk to 372x124, faces about 60 px)',
  ['Avinash_29.jpg']);

// 10. No face: smooth gradient with mild seeded noise.
{
  const r = rng(12345);
  const img = blank(256, 192, (x, y) => {
    const t = (x / 255 + y / 191) / 2;
    const n = () => Math.round((r() - 0.5) * 12);
    return [30 + 180 * t + n(), 120 + 40 * Math.sin(x / 30) + n(), 200 - 150 * t + n()]
      .map((v) => Math.max(0, Math.min(255, Math.round(v))));
  });
  save('noface_gradient.png', img, 'no face: 256x192 colour gradient with seeded noise (+-6)', []);
}

fs.writeFileSync(path.join(here, 'images.json'), `${JSON.stringify(images, null, 2)}\n`);
let total = 0;
for (const im of images) {
  const size = fs.statSync(path.join(outDir, im.name)).size;
  total += size;
  console.log(`${im.name.padEnd(26)} ${String(im.width).padStart(4)}x${String(im.height).padEnd(4)} ${size} bytes`);
}
console.log(`total ${total} bytes`);
