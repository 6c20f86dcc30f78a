#!/usr/bin/env python3
"""Converts MediaPipe's BlazeFace face detectors (TFLite) into emotrace nets.

    python3 tools/blazeface_convert.py [--out-dir weights] [--tgz FILE]

Fetches the pinned npm package with `npm pack` (or takes the tarball given by
--tgz), reads face_detection_short_range.tflite (128x128 input) and
face_detection_full_range_sparse.tflite (192x192; the file MediaPipe's
face_detection_full_range.pbtxt runs; --dense-full takes the package's
dense face_detection_full_range.tflite, a different network, instead) from
it, checks their SHA-256, parses the TFLite flatbuffer, maps every operator
to an emotrace layer and writes weights/face-short.safetensors and
weights/face-full.safetensors: float16 tensors as the source holds them
(sparse ones densified; the loader widens them to float32), with the
architecture JSON ("emotrace-net-1", NCHW) and provenance in the metadata.
Python 3 standard library only.

Output layout (how our outputs map to MediaPipe's anchors)
----------------------------------------------------------
TFLite ends each model with per-head layers (1x1 convolutions; in the full
range model a depth-to-space after them) whose NHWC outputs are reshaped to
[1, anchors, 16] (regressors) and [1, anchors, 1] (classificators) and
concatenated along the anchor axis. We drop the reshape/concatenation and
make the head layers themselves the outputs:
"outputs" lists the K regressor heads, then the K classificator heads, both
in MediaPipe's anchor order (short range: K = 2, the 16x16 head then the 8x8
head; full range: K = 1, the 48x48 head). Head k has a grid of h x w cells
with A anchors per cell: regressor k is [A*16, h, w], classificator k is
[A, h, w]. Its anchors are numbered from the sum of h*w*A over the earlier
heads (base), and for anchor i = base + (y*w + x)*A + a:
    raw score        = classificator_k[a, y, x]
    raw coordinate j = regressor_k[a*16 + j, y, x], j = 0..15:
        0..3  box x_center, y_center, width, height offsets (input pixels),
        4..15 six keypoints (x, y): right eye, left eye, nose tip, mouth,
              right ear tragion, left ear tragion (the person's right/left).
This is the order of MediaPipe's SsdAnchorsCalculator (y, x, anchor within
the cell), so anchor i of the decoder is entry i of the TFLite tensors.
"""
import argparse
import json
import os
import struct
import sys
import tempfile

from npm_weights import ConvertError, fetch_package, read_member, write_safetensors

PACKAGE = "@mediapipe/face_detection"
VERSION = "0.4.1657300184"
LICENSE = "Apache-2.0"
SHORT = ("face_detection_short_range.tflite", "face-short.safetensors", "blazeface-short",
         "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633")
# MediaPipe's full-range graph (face_detection_full_range.pbtxt) runs the
# sparse file. The package's dense face_detection_full_range.tflite is a
# different network (other weights); --dense-full converts it instead.
FULL = ("face_detection_full_range_sparse.tflite", "face-full.safetensors", "blazeface-full",
        "671dd2f9ed11a78436fc21cc42357a803dfc6f73e9fb86541be942d5716c2dce")
FULL_DENSE = ("face_detection_full_range.tflite", "face-full.safetensors", "blazeface-full-dense",
              "99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3")

# TFLite schema facts used here (tensorflow/lite/schema/schema.fbs).
OP_ADD, OP_CONCATENATION, OP_CONV_2D, OP_DEPTHWISE_CONV_2D = 0, 2, 3, 4
OP_DEPTH_TO_SPACE, OP_DEQUANTIZE, OP_MAX_POOL_2D, OP_RELU, OP_RESHAPE = 5, 6, 17, 19, 22
OP_RESIZE_BILINEAR, OP_PAD, OP_PRELU, OP_DENSIFY = 23, 34, 54, 124
TYPE_FLOAT32, TYPE_FLOAT16, TYPE_INT32 = 0, 1, 2
PADDING_SAME, PADDING_VALID = 0, 1
ACT_NONE, ACT_RELU = 0, 1
DIM_DENSE, DIM_SPARSE_CSR = 0, 1


# --- flatbuffers -----------------------------------------------------------

class Table:
    """A flatbuffer table: fields by index through its vtable."""

    def __init__(self, buf, pos):
        self.buf = buf
        self.pos = pos
        self.vtable = pos - struct.unpack_from("<i", buf, pos)[0]
        self.vtable_size = struct.unpack_from("<H", buf, self.vtable)[0]

    def _field(self, index):
        entry = 4 + 2 * index
        if entry >= self.vtable_size:
            return 0
        return struct.unpack_from("<H", self.buf, self.vtable + entry)[0]

    def has(self, index):
        return self._field(index) != 0

    def scalar(self, index, fmt, default=0):
        off = self._field(index)
        return struct.unpack_from("<" + fmt, self.buf, self.pos + off)[0] if off else default

    def _target(self, index):
        off = self._field(index)
        if not off:
            return None
        at = self.pos + off
        return at + struct.unpack_from("<I", self.buf, at)[0]

    def table(self, index):
        at = self._target(index)
        return Table(self.buf, at) if at is not None else None

    def vector(self, index):
        at = self._target(index)
        if at is None:
            return 0, 0
        return struct.unpack_from("<I", self.buf, at)[0], at + 4

    def tables(self, index):
        count, at = self.vector(index)
        return [Table(self.buf, at + 4 * i + struct.unpack_from("<I", self.buf, at + 4 * i)[0])
                for i in range(count)]

    def ints(self, index):
        count, at = self.vector(index)
        return list(struct.unpack_from("<%di" % count, self.buf, at)) if count else []

    def raw(self, index):
        count, at = self.vector(index)
        return bytes(self.buf[at:at + count])

    def string(self, index):
        return self.raw(index).decode("utf-8")


class Tflite:
    """The parts of a TFLite model this converter needs (subgraph 0)."""

    def __init__(self, data):
        if len(data) < 8 or data[4:8] != b"TFL3":
            raise ConvertError("not a TFLite model (no TFL3 identifier)")
        self.data = data
        model = Table(data, struct.unpack_from("<I", data, 0)[0])
        # OperatorCode: deprecated_builtin_code (byte, 0), builtin_code (int, 3);
        # newer files keep the larger of the two.
        self.opcodes = [max(c.scalar(0, "b"), c.scalar(3, "i")) for c in model.tables(1)]
        self.buffers = model.tables(4)
        subgraphs = model.tables(2)
        if len(subgraphs) != 1:
            raise ConvertError("expected one subgraph, found %d" % len(subgraphs))
        sg = subgraphs[0]
        self.tensors = []
        for t in sg.tables(0):  # Tensor: shape 0, type 1, buffer 2, name 3, sparsity 6
            self.tensors.append({"shape": t.ints(0), "type": t.scalar(1, "b"),
                                 "buffer": t.scalar(2, "I"), "name": t.string(3), "sparsity": t.table(6)})
        self.inputs = sg.ints(1)
        self.outputs = sg.ints(2)
        self.operators = []
        for op in sg.tables(3):  # Operator: opcode_index 0, inputs 1, outputs 2, options 4
            self.operators.append({"code": self.opcodes[op.scalar(0, "I")], "inputs": op.ints(1),
                                   "outputs": op.ints(2), "options": op.table(4)})

    def buffer_bytes(self, tensor_index):
        buf = self.buffers[self.tensors[tensor_index]["buffer"]]
        data = buf.raw(0)
        if not data and buf.has(1):  # Buffer.offset/size: data outside the flatbuffer
            offset, size = buf.scalar(1, "Q"), buf.scalar(2, "Q")
            data = bytes(self.data[offset:offset + size])
        return data


# --- conversion ------------------------------------------------------------

def same_pads(size, kernel, stride):
    """TensorFlow SAME padding along one axis: (before, after), extra after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def window(options, in_h, in_w, kh, kw, stride_h, stride_w, what):
    padding = options.scalar(0, "b")
    if padding == PADDING_VALID:
        return [0, 0, 0, 0]
    if padding != PADDING_SAME:
        raise ConvertError("%s: unknown padding %d" % (what, padding))
    top, bottom = same_pads(in_h, kh, stride_h)
    left, right = same_pads(in_w, kw, stride_w)
    return [top, left, bottom, right]


def transpose(values, shape, order):
    """Permutes a flat row-major list of the given shape by axis order."""
    out_shape = [shape[a] for a in order]
    strides = [1] * len(shape)
    for i in range(len(shape) - 2, -1, -1):
        strides[i] = strides[i + 1] * shape[i + 1]
    out = []

    def walk(axis, base):
        if axis == len(order):
            out.append(values[base])
            return
        for i in range(out_shape[axis]):
            walk(axis + 1, base + i * strides[order[axis]])
    walk(0, 0)
    return out, out_shape


def densify(model, index, what):
    """Float16 bit patterns of a sparse constant (TFLite SparsityParameters):
    the case BlazeFace uses, leading dimensions dense and the last one CSR."""
    t = model.tensors[index]
    sp = t["sparsity"]
    shape = t["shape"]
    # SparsityParameters: traversal_order 0, block_map 1, dim_metadata 2.
    # DimensionMetadata: format 0, dense_size 1, array_segments (type 2,
    # value 3), array_indices (type 4, value 5); the index vectors are
    # Int32Vector (1), Uint16Vector (2) or Uint8Vector (3), values field 0.
    dims = sp.tables(2) if sp else []
    if (t["type"] != TYPE_FLOAT16 or sp.ints(0) not in ([], list(range(len(shape)))) or sp.ints(1)
            or len(dims) != len(shape) or any(d.scalar(0, "b") != DIM_DENSE for d in dims[:-1])
            or dims[-1].scalar(0, "b") != DIM_SPARSE_CSR):
        raise ConvertError("%s: only float16 tensors sparse (CSR) in the last dimension are supported" % what)

    def index_vector(dim, type_field, value_field):
        kind, table = dim.scalar(type_field, "B"), dim.table(value_field)
        fmt = {1: "i", 2: "H", 3: "B"}.get(kind)
        if fmt is None or table is None:
            raise ConvertError("%s: unknown sparse index vector type %d" % (what, kind))
        count, at = table.vector(0)
        return list(struct.unpack_from("<%d%s" % (count, fmt), table.buf, at))
    segments = index_vector(dims[-1], 2, 3)
    indices = index_vector(dims[-1], 4, 5)
    data = model.buffer_bytes(index)
    values = struct.unpack("<%dH" % (len(data) // 2), data)
    rows, cols = 1, shape[-1]
    for d in shape[:-1]:
        rows *= d
    if len(segments) != rows + 1 or len(values) != len(indices) or segments[-1] != len(indices):
        raise ConvertError("%s: inconsistent sparse tensor" % what)
    dense = [0] * (rows * cols)
    for r in range(rows):
        for j in range(segments[r], segments[r + 1]):
            if indices[j] >= cols:
                raise ConvertError("%s: sparse index out of range" % what)
            dense[r * cols + indices[j]] = values[j]
    return dense


class Converter:
    def __init__(self, model, net_name):
        self.m = model
        self.net_name = net_name
        self.layers = []
        self.params = {}          # "layer.param" -> (dtype, shape, list of raw values)
        self.producer = {}        # tensor index -> our layer name ("input" for the net input)
        self.constants = {}       # tensor index -> (dtype "F16"/"F32"/"I32", shape, values)
        self.names = set()
        self.padded = {}          # tensor index -> (unpadded tensor, [top, left, bottom, right])

    def const(self, index, what):
        if index in self.constants:
            return self.constants[index]
        t = self.m.tensors[index]
        data = self.m.buffer_bytes(index)
        count = 1
        for d in t["shape"]:
            count *= d
        if t["type"] == TYPE_FLOAT32 and len(data) == 4 * count:
            return ("F32", t["shape"], list(struct.unpack("<%df" % count, data)))
        if t["type"] == TYPE_INT32 and len(data) == 4 * count:
            return ("I32", t["shape"], list(struct.unpack("<%di" % count, data)))
        raise ConvertError("%s: tensor '%s' is not a constant this converter reads" % (what, t["name"]))

    def layer_name(self, tensor_index):
        # Converted graphs name a tensor after every op folded into it
        # ("activation_2/Relu;add/add"): the last one is the op itself, and
        # its Keras layer name is the part before the first "/".
        name = self.m.tensors[tensor_index]["name"].split(";")[-1].replace("__xeno_compat__1", "")
        if name.startswith("model_1/model/"):
            name = name[len("model_1/model/"):]
        name = name.split("/")[0]
        name = "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in name) or "layer"
        base, k = name[:56], 1
        while name in self.names:
            name = "%s_%d" % (base, k)
            k += 1
        self.names.add(name)
        return name

    def source(self, tensor_index, what):
        if tensor_index not in self.producer:
            raise ConvertError("%s: input '%s' is produced by no converted layer"
                               % (what, self.m.tensors[tensor_index]["name"]))
        return self.producer[tensor_index]

    def shape_nhwc(self, tensor_index):
        s = self.m.tensors[tensor_index]["shape"]
        if len(s) != 4 or s[0] != 1:
            raise ConvertError("tensor '%s' has shape %s, expected [1, H, W, C]"
                               % (self.m.tensors[tensor_index]["name"], s))
        return s

    def add_layer(self, out_tensor, config, inputs, fused=ACT_NONE):
        name = self.layer_name(out_tensor)
        layer = {"name": name}
        layer.update(config)
        previous = self.layers[-1]["name"] if self.layers else "input"
        if inputs != [previous]:
            layer["in"] = inputs if len(inputs) > 1 else inputs[0]
        self.layers.append(layer)
        self.producer[out_tensor] = name
        if fused == ACT_RELU:
            relu = name + "_relu"
            if relu in self.names:
                raise ConvertError("layer name '%s' is taken" % relu)
            self.names.add(relu)
            self.layers.append({"name": relu, "type": "relu"})
            self.producer[out_tensor] = relu
        elif fused != ACT_NONE:
            raise ConvertError("layer '%s': fused activation %d has no emotrace layer" % (name, fused))
        return name

    def add_conv(self, op, depthwise):
        x, w_index = op["inputs"][0], op["inputs"][1]
        b_index = op["inputs"][2] if len(op["inputs"]) > 2 else -1
        opt = op["options"]
        what = self.m.tensors[op["outputs"][0]]["name"]
        # A zero PAD in front of the convolution becomes part of its padding.
        x, extra = self.padded.get(x, (x, [0, 0, 0, 0]))
        _, in_h, in_w, in_c = self.shape_nhwc(x)
        dtype, wshape, wvalues = self.const(w_index, what)
        # Conv2DOptions: padding 0, stride_w 1, stride_h 2, activation 3, dilation 4/5.
        # DepthwiseConv2DOptions: padding 0, stride_w 1, stride_h 2,
        # depth_multiplier 3, activation 4, dilation 5/6.
        stride_w, stride_h = opt.scalar(1, "i"), opt.scalar(2, "i")
        act = opt.scalar(4 if depthwise else 3, "b")
        dil = (opt.scalar(5, "i", 1), opt.scalar(6, "i", 1)) if depthwise else (opt.scalar(4, "i", 1), opt.scalar(5, "i", 1))
        if dil != (1, 1):
            raise ConvertError("%s: dilated convolution is not supported" % what)
        if depthwise:
            one, kh, kw, out_c = wshape  # 1HWO -> [O, 1, kh, kw]
            if one != 1 or out_c % in_c:
                raise ConvertError("%s: depthwise weight shape %s does not fit %d channels" % (what, wshape, in_c))
            values, _ = transpose(wvalues, wshape, [3, 0, 1, 2])
            pshape = [out_c, 1, kh, kw]
            config = {"type": "depthwise_conv2d"}
            if out_c != in_c:
                config["multiplier"] = out_c // in_c
        else:
            out_c, kh, kw, wc = wshape  # OHWI -> OIHW
            if wc != in_c:
                raise ConvertError("%s: weight shape %s does not fit %d channels" % (what, wshape, in_c))
            values, _ = transpose(wvalues, wshape, [0, 3, 1, 2])
            pshape = [out_c, in_c, kh, kw]
            config = {"type": "conv2d", "out": out_c}
        config["kernel"] = kh if kh == kw else [kh, kw]
        if stride_h != 1 or stride_w != 1:
            config["stride"] = stride_h if stride_h == stride_w else [stride_h, stride_w]
        pads = window(opt, in_h + extra[0] + extra[2], in_w + extra[1] + extra[3], kh, kw, stride_h, stride_w, what)
        pads = [p + e for p, e in zip(pads, extra)]
        if any(pads):
            config["pad"] = pads[0] if len(set(pads)) == 1 else pads
        out_h = (in_h + pads[0] + pads[2] - kh) // stride_h + 1
        out_w = (in_w + pads[1] + pads[3] - kw) // stride_w + 1
        if [out_h, out_w] != self.shape_nhwc(op["outputs"][0])[1:3]:
            raise ConvertError("%s: output size %dx%d, TFLite says %s" % (what, out_h, out_w,
                                                                          self.m.tensors[op["outputs"][0]]["shape"]))
        if b_index < 0:
            config["bias"] = False
        name = self.add_layer(op["outputs"][0], config, [self.source(x, what)], act)
        self.params[name + ".weight"] = (dtype, pshape, values)
        if b_index >= 0:
            bdtype, bshape, bvalues = self.const(b_index, what)
            if bshape != [out_c]:
                raise ConvertError("%s: bias shape %s, expected [%d]" % (what, bshape, out_c))
            self.params[name + ".bias"] = (bdtype, [out_c], bvalues)

    def convert(self):
        m = self.m
        if len(m.inputs) != 1:
            raise ConvertError("expected one input tensor")
        _, in_h, in_w, in_c = self.shape_nhwc(m.inputs[0])
        self.producer[m.inputs[0]] = "input"
        heads = {}  # tensor index -> list of head tensors feeding it (anchor order)
        consumers = {}
        for op in m.operators:
            for i in op["inputs"]:
                consumers.setdefault(i, []).append(op["code"])
        for op in m.operators:
            code, ins, outs = op["code"], [i for i in op["inputs"] if i >= 0], op["outputs"]
            what = m.tensors[outs[0]]["name"]
            if code == OP_DENSIFY:
                self.constants[outs[0]] = ("F16", m.tensors[ins[0]]["shape"], densify(m, ins[0], what))
            elif code == OP_DEQUANTIZE:
                t = m.tensors[ins[0]]
                if ins[0] in self.constants:  # densified
                    if self.constants[ins[0]][0] != "F16":
                        raise ConvertError("%s: only float16 DEQUANTIZE is supported" % what)
                    self.constants[outs[0]] = self.constants[ins[0]]
                    continue
                data = m.buffer_bytes(ins[0])
                count = len(data) // 2
                if t["type"] != TYPE_FLOAT16 or count * 2 != len(data) or t["sparsity"]:
                    raise ConvertError("%s: only dense float16 DEQUANTIZE is supported" % what)
                # Keep the half-precision bit patterns: the file stores F16.
                self.constants[outs[0]] = ("F16", t["shape"], list(struct.unpack("<%dH" % count, data)))
            elif code == OP_CONV_2D:
                self.add_conv(op, False)
            elif code == OP_DEPTHWISE_CONV_2D:
                self.add_conv(op, True)
            elif code == OP_RELU:
                self.add_layer(outs[0], {"type": "relu"}, [self.source(ins[0], what)])
            elif code == OP_ADD:
                # AddOptions: fused_activation_function 0.
                act = op["options"].scalar(0, "b") if op["options"] else ACT_NONE
                if m.tensors[ins[0]]["shape"] != m.tensors[ins[1]]["shape"]:
                    raise ConvertError("%s: ADD with broadcasting is not supported" % what)
                self.add_layer(outs[0], {"type": "add"}, [self.source(i, what) for i in ins], act)
            elif code == OP_MAX_POOL_2D:
                # Pool2DOptions: padding 0, stride_w 1, stride_h 2, filter_w 3,
                # filter_h 4, activation 5.
                opt = op["options"]
                sw, sh, fw, fh = (opt.scalar(k, "i") for k in (1, 2, 3, 4))
                _, h, w, _ = self.shape_nhwc(ins[0])
                config = {"type": "maxpool", "kernel": fh if fh == fw else [fh, fw],
                          "stride": sh if sh == sw else [sh, sw]}
                pads = window(opt, h, w, fh, fw, sh, sw, what)
                if any(pads):
                    config["pad"] = pads
                self.add_layer(outs[0], config, [self.source(ins[0], what)], opt.scalar(5, "b"))
            elif code == OP_PAD:
                _, shape, pads = self.const(ins[1], what)  # [[n0,n1],[top,bottom],[left,right],[c0,c1]]
                if shape != [4, 2] or min(pads) < 0 or pads[0] or pads[1]:
                    raise ConvertError("%s: PAD paddings %s are not supported" % (what, pads))
                if any(pads[2:6]) and not any(pads[6:]):
                    # Spatial zero padding in front of a VALID convolution
                    # (full range): folded into that convolution.
                    if consumers.get(outs[0], []) not in ([OP_CONV_2D], [OP_DEPTHWISE_CONV_2D]):
                        raise ConvertError("%s: a spatial PAD must feed exactly one convolution" % what)
                    self.padded[outs[0]] = (ins[0], [pads[2], pads[4], pads[3], pads[5]])
                elif not any(pads[2:7]):
                    # BlazeFace widens the residual shortcut by zero channels.
                    out_c = m.tensors[outs[0]]["shape"][3]
                    self.add_layer(outs[0], {"type": "channel_pad", "out": out_c}, [self.source(ins[0], what)])
                else:
                    raise ConvertError("%s: PAD paddings %s are not supported" % (what, pads))
            elif code == OP_DEPTH_TO_SPACE:
                # DepthToSpaceOptions: block_size 0.
                block = op["options"].scalar(0, "i")
                self.add_layer(outs[0], {"type": "depth_to_space", "block": block}, [self.source(ins[0], what)])
            elif code == OP_RESIZE_BILINEAR:
                # ResizeBilinearOptions: align_corners 2, half_pixel_centers 3.
                opt = op["options"]
                align, half = (opt.scalar(2, "b"), opt.scalar(3, "b")) if opt else (0, 0)
                _, h, w, _ = self.shape_nhwc(ins[0])
                _, oh, ow, _ = self.shape_nhwc(outs[0])
                if align or not half or oh % h or ow % w or oh // h != ow // w:
                    raise ConvertError("%s: only integer upsampling with half-pixel centres is supported" % what)
                self.add_layer(outs[0], {"type": "upsample_bilinear", "scale": oh // h},
                               [self.source(ins[0], what)])
            elif code == OP_PRELU:
                adtype, ashape, alpha = self.const(ins[1], what)
                c = m.tensors[ins[0]]["shape"][3]
                if len(alpha) != c:
                    raise ConvertError("%s: PRELU slope shape %s is not per channel" % (what, ashape))
                name = self.add_layer(outs[0], {"type": "prelu"}, [self.source(ins[0], what)])
                self.params[name + ".weight"] = (adtype, [c], alpha)
            elif code == OP_RESHAPE:
                # Head reshape NHWC [1, h, w, A*V] -> [1, h*w*A, V]: row-major
                # order makes anchor = (y*w + x)*A + a, value j at channel a*V + j.
                src = self.shape_nhwc(ins[0])
                dst = m.tensors[outs[0]]["shape"]
                if len(dst) != 3 or dst[0] != 1 or src[3] % dst[2] or dst[1] != src[1] * src[2] * src[3] // dst[2]:
                    raise ConvertError("%s: RESHAPE %s -> %s is not a detection head" % (what, src, dst))
                heads[outs[0]] = [ins[0]]
            elif code == OP_CONCATENATION:
                # ConcatenationOptions: axis 0.
                if op["options"].scalar(0, "i") != 1 or any(i not in heads for i in ins):
                    raise ConvertError("%s: only the anchor concatenation of head outputs is supported" % what)
                heads[outs[0]] = [h for i in ins for h in heads[i]]
            else:
                raise ConvertError("%s: operator %d has no emotrace mapping" % (what, code))

        # The outputs: [1, anchors, 16] regressors and [1, anchors, 1] scores.
        regressors = classificators = None
        for index in m.outputs:
            name, shape = m.tensors[index]["name"], m.tensors[index]["shape"]
            if index not in heads:
                raise ConvertError("output '%s' is not a reshaped detection head" % name)
            if shape[-1] == 16:
                regressors = heads[index]
            elif shape[-1] == 1:
                classificators = heads[index]
        if not regressors or not classificators or len(regressors) != len(classificators):
            raise ConvertError("expected matching regressor and classificator outputs")
        for r, c in zip(regressors, classificators):
            rs, cs = self.shape_nhwc(r), self.shape_nhwc(c)
            if rs[1:3] != cs[1:3] or rs[3] != 16 * cs[3]:
                raise ConvertError("heads '%s' and '%s' do not pair up" % (m.tensors[r]["name"], m.tensors[c]["name"]))
        outputs = [self.producer[t] for t in regressors] + [self.producer[t] for t in classificators]
        used = {n for layer in self.layers for n in ([layer["in"]] if isinstance(layer.get("in"), str)
                                                       else layer.get("in", []))}
        for i, layer in enumerate(self.layers[:-1]):
            if "in" not in self.layers[i + 1]:
                used.add(layer["name"])
        dangling = [layer["name"] for layer in self.layers if layer["name"] not in used and layer["name"] not in outputs]
        if dangling:
            raise ConvertError("layers %s lead to no output" % dangling)
        arch = {"format": "emotrace-net-1", "name": self.net_name, "input": [in_c, in_h, in_w],
                "layers": self.layers, "outputs": outputs}
        return arch


# --- safetensors -------------------------------------------------------------

def to_tensors(params):
    """The parameters as tensors for npm_weights.write_safetensors, shaped as
    emotrace's loader expects: [n, c, h, w] less trailing ones."""
    tensors = {}
    for name, (dtype, shape, values) in params.items():
        if dtype == "F16":
            data = struct.pack("<%dH" % len(values), *values)
        elif dtype == "F32":
            data = struct.pack("<%df" % len(values), *values)
        else:
            raise ConvertError("parameter %s has dtype %s" % (name, dtype))
        while len(shape) > 1 and shape[-1] == 1:
            shape = shape[:-1]
        tensors[name] = (dtype, shape, data)
    return tensors


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out-dir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "weights"))
    parser.add_argument("--tgz", help="use this package tarball instead of running npm pack")
    parser.add_argument("--dense-full", action="store_true",
                        help="convert the dense face_detection_full_range.tflite (not MediaPipe's graph model)")
    args = parser.parse_args()
    models = [SHORT, FULL_DENSE if args.dense_full else FULL]
    os.makedirs(args.out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmpdir:
        tgz = args.tgz or fetch_package(PACKAGE, VERSION, tmpdir)
        for file_name, out_name, net_name, expected in models:
            data, digest = read_member(tgz, file_name, expected)
            conv = Converter(Tflite(data), net_name)
            arch = conv.convert()
            c, h, w = arch["input"]
            metadata = {
                "architecture": json.dumps(arch, separators=(",", ":")),
                "source_package": PACKAGE,
                "source_version": VERSION,
                "source_file": file_name,
                "source_sha256": digest,
                "license": LICENSE,
                "converter": "tools/blazeface_convert.py",
                "input_format": "RGB, %dx%d, values (v / 127.5 - 1) in [-1, 1], letterboxed" % (w, h),
                "output_layout": ("outputs = K regressor heads [A*16,h,w] then K classificator heads [A,h,w] "
                                  "in anchor order; anchor base + (y*w + x)*A + a reads classificator[a,y,x] "
                                  "and regressor[a*16 + j,y,x] (j: 0-3 box cx,cy,w,h; 4-15 six keypoints x,y)"),
            }
            path = os.path.join(args.out_dir, out_name)
            write_safetensors(path, to_tensors(conv.params), metadata)
            print("%s: %d layers, %d tensors, %d bytes (from %s, sha256 %s)"
                  % (path, len(arch["layers"]), len(conv.params), os.path.getsize(path), file_name, digest[:12]))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ConvertError as e:
        print("blazeface_convert: %s" % e, file=sys.stderr)
        sys.exit(1)
