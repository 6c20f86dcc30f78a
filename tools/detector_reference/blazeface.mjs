// BlazeFace pre- and post-processing as MediaPipe does it: letterboxing,
// SSD anchors, box/keypoint decoding, score filtering, weighted NMS.
// Shared by make_reference.mjs and check_tflite.mjs.
//
// Settings and their source (MediaPipe, read in the google-ai-edge/mediapipe
// repository):
//  mediapipe/modules/face_detection/face_detection_short_range.pbtxt:
//    tensor 128x128, num_layers 4, strides 8,16,16,16,
//    interpolated_scale_aspect_ratio 1.0, num_boxes 896,
//    x/y/w/h_scale 128, min_score_thresh 0.5
//  mediapipe/modules/face_detection/face_detection_full_range.pbtxt:
//    model face_detection_full_range_sparse.tflite, tensor 192x192,
//    num_layers 1, strides 4, interpolated_scale_aspect_ratio 0.0,
//    num_boxes 2304, x/y/w/h_scale 192, min_score_thresh 0.6
//  mediapipe/modules/face_detection/face_detection.pbtxt (shared by both):
//    ImageToTensorCalculator keep_aspect_ratio true, output range [-1,1],
//    border_mode BORDER_ZERO;
//    SsdAnchorsCalculator min_scale 0.1484375, max_scale 0.75,
//    anchor_offset_x/y 0.5, aspect_ratios 1.0, fixed_anchor_size true;
//    TensorsToDetectionsCalculator num_classes 1, num_coords 16,
//    box_coord_offset 0, keypoint_coord_offset 4, num_keypoints 6,
//    num_values_per_keypoint 2, sigmoid_score true,
//    score_clipping_thresh 100, reverse_output_order true (x,y,w,h order);
//    NonMaxSuppressionCalculator min_suppression_threshold 0.3,
//    overlap_type INTERSECTION_OVER_UNION, algorithm WEIGHTED;
//    DetectionProjectionCalculator maps tensor coordinates back to the image.
//  mediapipe/calculators/tflite/ssd_anchors_calculator.cc: anchor order
//    (layers grouped by equal stride; per cell y-major, x, then anchor id;
//    centre ((x+0.5)/fm_w, (y+0.5)/fm_h); with fixed_anchor_size w = h = 1).
//  mediapipe/calculators/tensor/tensors_to_detections_calculator.cc: decoding
//    (centre = raw/scale*anchor_wh + anchor_centre, size = raw/scale*anchor_wh,
//    keypoints like the centre), scores clipped to +-100 then sigmoid,
//    detections with score < min_score_thresh or negative width/height dropped.
//  mediapipe/calculators/util/non_max_suppression_calculator.cc: weighted NMS.
//  mediapipe/calculators/tensor/image_to_tensor_converter_opencv.cc: the ROI
//    corners map to the tensor corners (0,0)-(T,T); cv::warpPerspective with
//    INTER_LINEAR and BORDER_CONSTANT (0) on the 8-bit image, then
//    convertTo(float, 2/255, -1).

export const MODELS = {
  short: {
    file: 'facemesh-detection-short', output: 'Identity', tflite: 'face_detection_short_range.tflite',
    tensor: 128, numBoxes: 896,
    anchors: { numLayers: 4, strides: [8, 16, 16, 16], interpolatedScaleAspectRatio: 1.0 },
    scale: 128, minScore: 0.5,
  },
  full: {
    // Identity = face head; Identity_1 is an extra "person" head this
    // conversion carries and MediaPipe's tflite does not.
    file: 'facemesh-detection-full', output: 'Identity', tflite: 'face_detection_full_range_sparse.tflite',
    tensor: 192, numBoxes: 2304,
    anchors: { numLayers: 1, strides: [4], interpolatedScaleAspectRatio: 0.0 },
    scale: 192, minScore: 0.6,
  },
};
export const ANCHOR_COMMON = { minScale: 0.1484375, maxScale: 0.75, offsetX: 0.5, offsetY: 0.5, aspectRatios: [1.0], fixedAnchorSize: true };
export const NUM_KEYPOINTS = 6;
export const SCORE_CLIP = 100;
export const NMS_IOU = 0.3;

// ---------------------------------------------------------------- anchors
function calculateScale(minScale, maxScale, index, count) {
  if (count === 1) return (minScale + maxScale) * 0.5;
  return minScale + ((maxScale - minScale) * index) / (count - 1);
}

// Returns [{x, y, w, h}] in the order the network emits its rows.
export function generateAnchors(tensorSize, opt) {
  const o = { ...ANCHOR_COMMON, ...opt };
  const anchors = [];
  let layer = 0;
  while (layer < o.numLayers) {
    const scales = [];
    const ratios = [];
    let last = layer;
    while (last < o.strides.length && o.strides[last] === o.strides[layer]) {
      const scale = calculateScale(o.minScale, o.maxScale, last, o.strides.length);
      for (const r of o.aspectRatios) { ratios.push(r); scales.push(scale); }
      if (o.interpolatedScaleAspectRatio > 0) {
        const next = last === o.strides.length - 1 ? 1.0 : calculateScale(o.minScale, o.maxScale, last + 1, o.strides.length);
        scales.push(Math.sqrt(scale * next));
        ratios.push(o.interpolatedScaleAspectRatio);
      }
      last++;
    }
    const stride = o.strides[layer];
    const fmH = Math.ceil(tensorSize / stride);
    const fmW = Math.ceil(tensorSize / stride);
    for (let y = 0; y < fmH; y++) {
      for (let x = 0; x < fmW; x++) {
        for (let a = 0; a < scales.length; a++) {
          const r = Math.sqrt(ratios[a]);
          anchors.push({
            x: (x + o.offsetX) / fmW,
            y: (y + o.offsetY) / fmH,
            w: o.fixedAnchorSize ? 1.0 : scales[a] * r,
            h: o.fixedAnchorSize ? 1.0 : scales[a] / r,
          });
        }
      }
    }
    layer = last;
  }
  return anchors;
}

// ------------------------------------------------------------ letterboxing
// The ROI is the whole image padded to a square (tensor is square) around
// the image centre. Tensor pixel (j, i) samples the image at
// (x0 + j*S/T, y0 + i*S/T) with bilinear interpolation, pixels outside the
// image being 0, and the result rounded to 8 bits (OpenCV warpPerspective on
// a CV_8UC3 image does the same, with its weights quantised to 1/32 px).
export function letterbox(img, T) {
  const S = Math.max(img.width, img.height);
  const x0 = (img.width - S) / 2;
  const y0 = (img.height - S) / 2;
  const out = { width: T, height: T, data: new Uint8Array(T * T * 3) };
  const px = (x, y, c) => (x < 0 || y < 0 || x >= img.width || y >= img.height ? 0 : img.data[(y * img.width + x) * 3 + c]);
  for (let i = 0; i < T; i++) {
    const sy = y0 + (i * S) / T;
    const iy = Math.floor(sy);
    const fy = sy - iy;
    for (let j = 0; j < T; j++) {
      const sx = x0 + (j * S) / T;
      const ix = Math.floor(sx);
      const fx = sx - ix;
      for (let c = 0; c < 3; c++) {
        const v = (1 - fy) * ((1 - fx) * px(ix, iy, c) + fx * px(ix + 1, iy, c)) +
                  fy * ((1 - fx) * px(ix, iy + 1, c) + fx * px(ix + 1, iy + 1, c));
        out.data[(i * T + j) * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  }
  return { tensorImage: out, roi: { x0, y0, size: S } };
}

// Exact float32 values fed to the network: float32(u8 / 127.5 - 1).
export function toFloatTensor(u8) {
  const f = new Float32Array(u8.length);
  for (let i = 0; i < u8.length; i++) f[i] = u8[i] / 127.5 - 1.0;
  return f;
}

// --------------------------------------------------------------- decoding
const sigmoid = (x) => 1 / (1 + Math.exp(-x));

export function decode(regressors, classificators, anchors, cfg) {
  const dets = [];
  for (let i = 0; i < anchors.length; i++) {
    let raw = classificators[i];
    raw = Math.max(-SCORE_CLIP, Math.min(SCORE_CLIP, raw));
    const score = sigmoid(raw);
    if (score < cfg.minScore) continue;
    const a = anchors[i];
    const r = regressors.subarray(i * 16, i * 16 + 16);
    const xc = (r[0] / cfg.scale) * a.w + a.x;
    const yc = (r[1] / cfg.scale) * a.h + a.y;
    const w = (r[2] / cfg.scale) * a.w;
    const h = (r[3] / cfg.scale) * a.h;
    if (!(w >= 0) || !(h >= 0)) continue;
    const kp = [];
    for (let k = 0; k < NUM_KEYPOINTS; k++) {
      kp.push((r[4 + 2 * k] / cfg.scale) * a.w + a.x, (r[5 + 2 * k] / cfg.scale) * a.h + a.y);
    }
    dets.push({ anchor: i, score, xmin: xc - w / 2, ymin: yc - h / 2, xmax: xc + w / 2, ymax: yc + h / 2, kp });
  }
  return dets;
}

export function iou(a, b) {
  const ix = Math.min(a.xmax, b.xmax) - Math.max(a.xmin, b.xmin);
  const iy = Math.min(a.ymax, b.ymax) - Math.max(a.ymin, b.ymin);
  if (ix <= 0 || iy <= 0) return 0;
  const inter = ix * iy;
  const union = (a.xmax - a.xmin) * (a.ymax - a.ymin) + (b.xmax - b.xmin) * (b.ymax - b.ymin) - inter;
  return union > 0 ? inter / union : 0;
}

// MediaPipe's WEIGHTED non-max suppression. Ties in score are broken by the
// lower anchor index (std::sort leaves that unspecified).
export function weightedNms(dets) {
  let remaining = dets.slice().sort((p, q) => q.score - p.score || p.anchor - q.anchor);
  const out = [];
  while (remaining.length) {
    const seed = remaining[0];
    const candidates = [];
    const rest = [];
    for (const d of remaining) (iou(d, seed) > NMS_IOU ? candidates : rest).push(d);
    let total = 0;
    const acc = { xmin: 0, ymin: 0, xmax: 0, ymax: 0, kp: new Array(2 * NUM_KEYPOINTS).fill(0) };
    for (const c of candidates) {
      total += c.score;
      acc.xmin += c.xmin * c.score; acc.ymin += c.ymin * c.score;
      acc.xmax += c.xmax * c.score; acc.ymax += c.ymax * c.score;
      c.kp.forEach((v, k) => { acc.kp[k] += v * c.score; });
    }
    out.push({
      score: seed.score,
      seedAnchor: seed.anchor,
      merged: candidates.length,
      xmin: acc.xmin / total, ymin: acc.ymin / total, xmax: acc.xmax / total, ymax: acc.ymax / total,
      kp: acc.kp.map((v) => v / total),
    });
    if (rest.length === remaining.length) break;
    remaining = rest;
  }
  return out;
}
