#!/usr/bin/env python3
"""Converts dlib's face-recognition ResNet, as packaged for TensorFlow.js in
@vladmandic/face-api, into an emotrace net.

    python3 tools/face_embed_convert.py [--out-dir weights] [--tgz FILE]

Fetches the pinned npm package with `npm pack` (or takes the tarball given by
--tgz), reads model/face_recognition_model-weights_manifest.json and
model/face_recognition_model.bin from it, checks their SHA-256, dequantizes
the weights (most are stored as uint8 with a per-tensor scale and minimum),
folds each "scale" layer (per-channel multiply and add) into the convolution
before it, and writes weights/face-embed.safetensors: float16 tensors (the
source's 8-bit steps are 100 times coarser than float16's rounding) with the
architecture JSON ("emotrace-net-1", NCHW) and provenance in the metadata.
Python 3 standard library only.

The network (face-api's src/faceRecognitionNet/FaceRecognitionNet.ts) takes
a 150x150 RGB face chip, (v - mean_rgb) / 255, and gives a 128-d descriptor;
two faces are the same person when the Euclidean distance of their
descriptors is below about 0.6 (dlib's training margin).

Its "residualDown" blocks add an average-pooled shortcut, widened by zero
channels, to a strided branch; where the branch comes out one pixel smaller
than the shortcut (8 -> 3 vs 4, 4 -> 1 vs 2), face-api appends a zero row
and column to the branch. Here that is a zero_pad layer [0, 0, 1, 1].
"""
import argparse
import json
import os
import struct
import sys
import tempfile

from npm_weights import ConvertError, fetch_package, read_member, write_safetensors

PACKAGE = "@vladmandic/face-api"
VERSION = "1.7.15"
# face-api is MIT; the weights are dlib's dlib_face_recognition_resnet_model_v1,
# which Davis King released into the public domain (github.com/davisking/dlib-models).
LICENSE = "MIT (face-api packaging); weights public domain (dlib-models, Davis King)"
MANIFEST = ("model/face_recognition_model-weights_manifest.json",
            "cbaffa501b0b9275a12b63357a6843e7e30c054e1c9151e1a5f879b26e32986b")
WEIGHTS = ("model/face_recognition_model.bin",
           "b413e420d6840b2775fba32008db6f3cddb07d485967fb42cfcf379c16a8c589")
OUT_NAME = "face-embed.safetensors"
NET_NAME = "face-embed-dlib-resnet"
INPUT_SIZE = 150
MEAN_RGB = [122.782, 117.001, 104.298]

# (block name, kind) in face-api's order: "same" keeps the size, "down" halves it.
BLOCKS = [("conv32_1", "same"), ("conv32_2", "same"), ("conv32_3", "same"),
          ("conv64_down", "down"), ("conv64_1", "same"), ("conv64_2", "same"), ("conv64_3", "same"),
          ("conv128_down", "down"), ("conv128_1", "same"), ("conv128_2", "same"),
          ("conv256_down", "down"), ("conv256_1", "same"), ("conv256_2", "same"),
          ("conv256_down_out", "down")]


def float_to_half_bits(v):
    return struct.unpack("<H", struct.pack("<e", v))[0]


def read_weights(manifest, data):
    """name -> (shape, list of floats), dequantized as tfjs does (q * scale + min)."""
    out, at = {}, 0
    for group in manifest:
        for spec in group["weights"]:
            count = 1
            for d in spec["shape"]:
                count *= d
            q = spec.get("quantization")
            if spec["dtype"] != "float32":
                raise ConvertError("%s: dtype %s" % (spec["name"], spec["dtype"]))
            if q is None:
                values = list(struct.unpack_from("<%df" % count, data, at))
                at += 4 * count
            elif q["dtype"] == "uint8":
                scale, lo = q["scale"], q["min"]
                values = [b * scale + lo for b in data[at:at + count]]
                at += count
            else:
                raise ConvertError("%s: quantization %s" % (spec["name"], q["dtype"]))
            out[spec["name"]] = (spec["shape"], values)
    if at != len(data):
        raise ConvertError("weights: %d bytes read of %d" % (at, len(data)))
    return out


class Converter:
    def __init__(self, weights):
        self.w = weights
        self.layers = []
        self.params = {}  # "layer.param" -> (shape, float values)
        self.used = set()

    def take(self, name):
        if name not in self.w:
            raise ConvertError("no tensor %s" % name)
        self.used.add(name)
        return self.w[name]

    def conv(self, name, prefix, stride, pad, relu, source=None):
        """A conv + bias + scale of face-api as one conv2d (HWIO -> OIHW)."""
        (kh, kw, cin, cout), filt = self.take(prefix + "/conv/filters")
        _, bias = self.take(prefix + "/conv/bias")
        _, mul = self.take(prefix + "/scale/weights")
        _, add = self.take(prefix + "/scale/biases")
        weight = [0.0] * (cout * cin * kh * kw)
        for y in range(kh):
            for x in range(kw):
                for i in range(cin):
                    for o in range(cout):
                        weight[((o * cin + i) * kh + y) * kw + x] = filt[((y * kw + x) * cin + i) * cout + o] * mul[o]
        layer = {"name": name, "type": "conv2d", "out": cout, "kernel": kh}
        if stride != 1:
            layer["stride"] = stride
        if pad:
            layer["pad"] = pad
        self.add(layer, source)
        self.params[name + ".weight"] = ([cout, cin, kh, kw], weight)
        self.params[name + ".bias"] = ([cout], [bias[o] * mul[o] + add[o] for o in range(cout)])
        if relu:
            self.add({"name": name + "_relu", "type": "relu"})
        return cout

    def add(self, layer, source=None):
        if source is not None:
            layer["in"] = source
        self.layers.append(layer)
        return layer["name"]

    def last(self):
        return self.layers[-1]["name"]

    def convert(self):
        side = (INPUT_SIZE - 7) // 2 + 1                      # 7x7 stride 2 valid
        channels = self.conv("conv32_down", "conv32_down", 2, 0, True)
        self.add({"name": "pool", "type": "maxpool", "kernel": 3, "stride": 2})
        side = (side - 3) // 2 + 1
        for block, kind in BLOCKS:
            x = self.last()
            if kind == "same":
                self.conv(block + "_conv1", block + "/conv1", 1, 1, True)
                self.conv(block + "_conv2", block + "/conv2", 1, 1, False)
                shortcut = x
            else:
                out_c = self.conv(block + "_conv1", block + "/conv1", 2, 0, True)
                self.conv(block + "_conv2", block + "/conv2", 1, 1, False)
                branch_side, pooled_side = (side - 3) // 2 + 1, side // 2
                if branch_side != pooled_side:
                    if pooled_side != branch_side + 1:
                        raise ConvertError("%s: branch %d vs shortcut %d" % (block, branch_side, pooled_side))
                    self.add({"name": block + "_pad", "type": "zero_pad", "pad": [0, 0, 1, 1]})
                branch = self.last()
                self.add({"name": block + "_pool", "type": "avgpool", "kernel": 2}, x)
                if out_c != channels:
                    self.add({"name": block + "_widen", "type": "channel_pad", "out": out_c})
                shortcut = self.last()
                self.layers.append({"name": block + "_add", "type": "add", "in": [branch, shortcut]})
                channels, side = out_c, pooled_side
                self.add({"name": block + "_relu", "type": "relu"})
                continue
            self.add({"name": block + "_add", "type": "add", "in": [self.last(), shortcut]})
            self.add({"name": block + "_relu", "type": "relu"})
        self.add({"name": "mean", "type": "global_avgpool"})
        (fin, fout), fc = self.take("fc")
        self.add({"name": "fc", "type": "dense", "out": fout, "bias": False})
        self.params["fc.weight"] = ([fout, fin], [fc[i * fout + o] for o in range(fout) for i in range(fin)])
        unused = sorted(set(self.w) - self.used)
        if unused:
            raise ConvertError("tensors not converted: %s" % unused)
        # Layers without "in" read the one before; the first reads the input.
        return {"format": "emotrace-net-1", "name": NET_NAME, "input": [3, INPUT_SIZE, INPUT_SIZE],
                "layers": self.layers, "outputs": ["fc"]}


def pack_halves(params):
    """The parameters as float16 tensors for npm_weights.write_safetensors."""
    return {name: ("F16", shape, struct.pack("<%dH" % len(values), *(float_to_half_bits(v) for v in values)))
            for name, (shape, values) in params.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out-dir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "weights"))
    parser.add_argument("--tgz", help="use this package tarball instead of running npm pack")
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmpdir:
        tgz = args.tgz or fetch_package(PACKAGE, VERSION, tmpdir)
        manifest_bytes, manifest_sha = read_member(tgz, *MANIFEST)
        data, digest = read_member(tgz, *WEIGHTS)
    conv = Converter(read_weights(json.loads(manifest_bytes), data))
    arch = conv.convert()
    metadata = {
        "architecture": json.dumps(arch, separators=(",", ":")),
        "source_package": PACKAGE,
        "source_version": VERSION,
        "source_file": WEIGHTS[0],
        "source_sha256": digest,
        "source_manifest": MANIFEST[0],
        "source_manifest_sha256": manifest_sha,
        "license": LICENSE,
        "converter": "tools/face_embed_convert.py",
        "input_format": "RGB, %dx%d face chip, values (v - [%s]) / 255" % (INPUT_SIZE, INPUT_SIZE,
                                                                          ", ".join(map(str, MEAN_RGB))),
        "output_layout": "outputs = [fc]: 128-d descriptor; same person when the Euclidean distance is below ~0.6",
    }
    path = os.path.join(args.out_dir, OUT_NAME)
    write_safetensors(path, pack_halves(conv.params), metadata)
    print("%s: %d layers, %d tensors, %d bytes (from %s, sha256 %s)"
          % (path, len(arch["layers"]), len(conv.params), os.path.getsize(path), WEIGHTS[0], digest[:12]))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ConvertError as e:
        print("face_embed_convert: %s" % e, file=sys.stderr)
        sys.exit(1)
