// Minimal reader for the parts of a TensorFlow Lite flatbuffer we need:
// tensors (name, shape, type, buffer data), operators (opcode, inputs,
// outputs) and the subgraph's input/output tensor indices.
//
// Written from the FlatBuffers binary format description and the field
// numbers of TFLite's schema.fbs (Model, SubGraph, Tensor, Buffer, Operator,
// OperatorCode tables). Only reads; no validation beyond bounds checks.

export const TENSOR_TYPES = ['float32', 'float16', 'int32', 'uint8', 'int64', 'string', 'bool', 'int16', 'complex64', 'int8', 'float64'];

class Table {
  constructor(buf, pos) {
    this.buf = buf;
    this.pos = pos;
    const vt = pos - buf.readInt32LE(pos);
    this.vt = vt;
    this.vtLen = buf.readUInt16LE(vt);
  }
  // byte offset of field `id` inside the table, or 0 when absent
  off(id) {
    const o = 4 + 2 * id;
    if (o >= this.vtLen) return 0;
    return this.buf.readUInt16LE(this.vt + o);
  }
  u8(id, dflt = 0) { const o = this.off(id); return o ? this.buf.readUInt8(this.pos + o) : dflt; }
  i8(id, dflt = 0) { const o = this.off(id); return o ? this.buf.readInt8(this.pos + o) : dflt; }
  u32(id, dflt = 0) { const o = this.off(id); return o ? this.buf.readUInt32LE(this.pos + o) : dflt; }
  i32(id, dflt = 0) { const o = this.off(id); return o ? this.buf.readInt32LE(this.pos + o) : dflt; }
  u64(id, dflt = 0n) { const o = this.off(id); return o ? this.buf.readBigUInt64LE(this.pos + o) : dflt; }
  // follow a uoffset stored in field `id`; returns absolute position or 0
  ref(id) {
    const o = this.off(id);
    if (!o) return 0;
    const at = this.pos + o;
    return at + this.buf.readUInt32LE(at);
  }
  str(id) {
    const p = this.ref(id);
    if (!p) return null;
    const n = this.buf.readUInt32LE(p);
    return this.buf.toString('utf8', p + 4, p + 4 + n);
  }
  table(id) { const p = this.ref(id); return p ? new Table(this.buf, p) : null; }
  vecLen(id) { const p = this.ref(id); return p ? this.buf.readUInt32LE(p) : 0; }
  // vector of scalars of the given element size and reader
  vecScalars(id, size, read) {
    const p = this.ref(id);
    if (!p) return [];
    const n = this.buf.readUInt32LE(p);
    const out = new Array(n);
    for (let i = 0; i < n; i++) out[i] = read.call(this.buf, p + 4 + i * size);
    return out;
  }
  vecI32(id) { return this.vecScalars(id, 4, Buffer.prototype.readInt32LE); }
  vecBytes(id) {
    const p = this.ref(id);
    if (!p) return null;
    const n = this.buf.readUInt32LE(p);
    return this.buf.subarray(p + 4, p + 4 + n);
  }
  vecTables(id) {
    const p = this.ref(id);
    if (!p) return [];
    const n = this.buf.readUInt32LE(p);
    const out = [];
    for (let i = 0; i < n; i++) {
      const at = p + 4 + 4 * i;
      out.push(new Table(this.buf, at + this.buf.readUInt32LE(at)));
    }
    return out;
  }
}

// SparseIndexVector union: 1 Int32Vector, 2 Uint16Vector, 3 Uint8Vector; each
// a table whose field 0 is the values vector.
function readIndexVector(type, tab) {
  if (!tab) return null;
  if (type === 1) return tab.vecI32(0);
  if (type === 2) return tab.vecScalars(0, 2, Buffer.prototype.readUInt16LE);
  if (type === 3) return Array.from(tab.vecBytes(0) ?? []);
  throw new Error(`unknown sparse index vector type ${type}`);
}

// SparsityParameters: 0 traversal_order, 1 block_map, 2 dim_metadata.
// DimensionMetadata: 0 format (0 DENSE, 1 SPARSE_CSR), 1 dense_size,
// 2/3 array_segments (union type, value), 4/5 array_indices (union type, value).
function readSparsity(sp) {
  if (!sp) return null;
  return {
    traversalOrder: sp.vecI32(0),
    blockMap: sp.vecI32(1),
    dims: sp.vecTables(2).map((d) => ({
      format: d.u8(0),
      denseSize: d.i32(1),
      segments: readIndexVector(d.u8(2), d.table(3)),
      indices: readIndexVector(d.u8(4), d.table(5)),
    })),
  };
}

// schema.fbs field ids used below:
//   Model:        1 operator_codes, 2 subgraphs, 4 buffers
//   SubGraph:     0 tensors, 1 inputs, 2 outputs, 3 operators, 4 name
//   Tensor:       0 shape, 1 type, 2 buffer, 3 name, 6 sparsity
//   Buffer:       0 data, 1 offset (u64), 2 size (u64)
//   Operator:     0 opcode_index, 1 inputs, 2 outputs
//   OperatorCode: 0 deprecated_builtin_code (i8), 1 custom_code, 3 builtin_code (i32)
export function readTflite(buf) {
  const model = new Table(buf, buf.readUInt32LE(0));
  const buffers = model.vecTables(4).map((b) => {
    const data = b.vecBytes(0);
    if (data && data.length) return data;
    const off = Number(b.u64(1)), size = Number(b.u64(2));
    return off > 1 ? buf.subarray(off, off + size) : null;
  });
  const opcodes = model.vecTables(1).map((c) => ({
    builtin: Math.max(c.i8(0), c.i32(3)),
    custom: c.str(1),
  }));
  const subgraphs = model.vecTables(2).map((sg) => ({
    name: sg.str(4),
    inputs: sg.vecI32(1),
    outputs: sg.vecI32(2),
    tensors: sg.vecTables(0).map((t) => ({
      name: t.str(3),
      shape: t.vecI32(0),
      type: TENSOR_TYPES[t.u8(1)] ?? `type${t.u8(1)}`,
      buffer: t.u32(2),
      sparsity: readSparsity(t.table(6)),
    })),
    operators: sg.vecTables(3).map((o) => ({
      opcode: opcodes[o.u32(0)],
      inputs: o.vecI32(1),
      outputs: o.vecI32(2),
    })),
  }));
  return { buffers, opcodes, subgraphs };
}

// IEEE half -> float
export function halfToFloat(h) {
  const s = (h & 0x8000) ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

function readElements(t, data, count) {
  const out = new Float64Array(count);
  if (t.type === 'float32') for (let i = 0; i < count; i++) out[i] = data.readFloatLE(i * 4);
  else if (t.type === 'float16') for (let i = 0; i < count; i++) out[i] = halfToFloat(data.readUInt16LE(i * 2));
  else return null;
  return out;
}

// Values of a constant tensor as a dense Float64Array (float32 / float16 only).
// Sparse tensors are densified; only the layout these models use is handled:
// identity traversal order, no block map, every dimension DENSE except the
// last one, which is SPARSE_CSR (per row: segments[r]..segments[r+1] index
// into indices[] = column and into the stored values).
export function tensorValues(model, t) {
  const data = model.buffers[t.buffer];
  if (!data) return null;
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (!t.sparsity) return readElements(t, data, n);
  const sp = t.sparsity;
  const rank = t.shape.length;
  const identity = sp.traversalOrder.length === rank && sp.traversalOrder.every((v, i) => v === i);
  if (!identity || (sp.blockMap && sp.blockMap.length) || sp.dims.length !== rank ||
      sp.dims.slice(0, -1).some((d) => d.format !== 0) || sp.dims[rank - 1].format !== 1) {
    throw new Error(`${t.name}: unsupported sparsity layout`);
  }
  const cols = t.shape[rank - 1];
  const rows = n / cols;
  const { segments, indices } = sp.dims[rank - 1];
  if (segments.length !== rows + 1) throw new Error(`${t.name}: bad segment count`);
  const stored = readElements(t, data, segments[rows]);
  const out = new Float64Array(n);
  for (let r = 0; r < rows; r++) {
    for (let j = segments[r]; j < segments[r + 1]; j++) out[r * cols + indices[j]] = stored[j];
  }
  return out;
}
