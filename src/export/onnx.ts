/**
 * ONNX export: the model as a graph of standard operators (opset 17, IR version 8), so it runs in
 * ONNX Runtime (Node, web, Python, mobile) and anything else that reads ONNX. Input `pixel_values`
 * [batch, channels, height, width] float32, already normalized; output `logits` [batch, num_classes].
 * The batch dimension is dynamic.
 */
import protobuf from 'protobufjs';
import { type ViTConfig, headSize, resolveConfig } from '../model/config.js';
import { UserError } from '../errors.js';
import { kindOf } from '../arguments.js';
import { parameterSpecs, sizeOf } from '../model/parameters.js';

/** The subset of onnx.proto (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto) the exporter writes; field numbers as upstream. */
const ONNX_PROTO = `
syntax = "proto2";
package onnx;
message AttributeProto {
  enum AttributeType { UNDEFINED = 0; FLOAT = 1; INT = 2; STRING = 3; TENSOR = 4; GRAPH = 5; FLOATS = 6; INTS = 7; STRINGS = 8; }
  optional string name = 1;
  optional string doc_string = 13;
  optional AttributeType type = 20;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  optional TensorProto t = 5;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
}
message ValueInfoProto {
  optional string name = 1;
  optional TypeProto type = 2;
  optional string doc_string = 3;
}
message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  optional string domain = 7;
  repeated AttributeProto attribute = 5;
  optional string doc_string = 6;
}
message StringStringEntryProto {
  optional string key = 1;
  optional string value = 2;
}
message ModelProto {
  optional int64 ir_version = 1;
  repeated OperatorSetIdProto opset_import = 8;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string domain = 4;
  optional int64 model_version = 5;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated StringStringEntryProto metadata_props = 14;
}
message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  optional string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
  repeated ValueInfoProto value_info = 13;
}
message TensorProto {
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  optional string name = 8;
  optional bytes raw_data = 9;
  optional string doc_string = 12;
}
message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
    optional string denotation = 3;
  }
  repeated Dimension dim = 1;
}
message TypeProto {
  message Tensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  oneof value {
    Tensor tensor_type = 1;
  }
  optional string denotation = 6;
}
message OperatorSetIdProto {
  optional string domain = 1;
  optional int64 version = 2;
}
`;

export const ONNX_OPSET = 17;
export const ONNX_IR_VERSION = 8;

// TensorProto.DataType and AttributeProto.AttributeType values.
const FLOAT = 1;
const INT64 = 7;
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_INTS = 7;

interface Attribute {
  name: string;
  type: number;
  f?: number;
  i?: number;
  ints?: number[];
}
interface Node {
  input: string[];
  output: string[];
  name: string;
  op_type: string;
  attribute: Attribute[];
}
interface Initializer {
  name: string;
  dims: number[];
  data_type: number;
  raw_data: Uint8Array;
}
type AttrValue = number | number[];
/** Attribute values: integers are INT, other numbers FLOAT; wrap a float that happens to be whole with `float()`. */
type Attrs = Record<string, AttrValue | { float: number }>;
const float = (f: number): { float: number } => ({ float: f });

let cachedModelType: protobuf.Type | undefined;
function modelType(): protobuf.Type {
  cachedModelType ??= protobuf.parse(ONNX_PROTO, { keepCase: true }).root.lookupType('onnx.ModelProto');
  return cachedModelType;
}

const bytesOf = (a: Float32Array | BigInt64Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Builds the node list in order; every value gets a readable, unique name. */
class Graph {
  readonly nodes: Node[] = [];
  readonly initializers: Initializer[] = [];
  private readonly constants = new Map<string, string>();
  private count = 0;

  tensor(name: string, dims: number[], data: Float32Array | BigInt64Array): string {
    this.initializers.push({ name, dims, data_type: data instanceof Float32Array ? FLOAT : INT64, raw_data: bytesOf(data) });
    return name;
  }

  /** A shared constant initializer (shapes, axes, scalars). */
  constant(values: number[], type: 'int64' | 'float', scalar = false): string {
    const key = `${type}:${scalar}:${values.join(',')}`;
    let name = this.constants.get(key);
    if (name === undefined) {
      name = `const_${type}_${values.join('_').replace(/-/g, 'm').replace(/\./g, 'p')}${scalar ? '_scalar' : ''}`;
      const data = type === 'int64' ? BigInt64Array.from(values.map(BigInt)) : Float32Array.from(values);
      this.tensor(name, scalar ? [] : [values.length], data);
      this.constants.set(key, name);
    }
    return name;
  }

  op(opType: string, inputs: string[], prefix: string, attrs: Attrs = {}, output = `${prefix}/${opType}_${this.count++}`): string {
    const attribute: Attribute[] = Object.entries(attrs).map(([name, v]) => {
      if (Array.isArray(v)) return { name, type: ATTR_INTS, ints: v };
      if (typeof v === 'object') return { name, type: ATTR_FLOAT, f: v.float };
      return Number.isInteger(v) ? { name, type: ATTR_INT, i: v } : { name, type: ATTR_FLOAT, f: v };
    });
    this.nodes.push({ input: inputs, output: [output], name: output, op_type: opType, attribute });
    return output;
  }
}

/**
 * The model as ONNX protobuf bytes. `params` holds the canonical parameters (parameterSpecs);
 * it is not modified (transposed copies of the Linear weights go into the file).
 */
export function exportOnnx(params: Map<string, Float32Array>, config: ViTConfig): Uint8Array {
  if (!(params instanceof Map)) throw new UserError(`exportOnnx: "params" must be a Map of name → Float32Array (got ${kindOf(params)})`);
  // Checked as a config: a wrong key or value is named, not met as a malformed graph.
  resolveConfig({ ...config } as Record<string, unknown>, 'exportOnnx: "config"');
  const specs = parameterSpecs(config);
  for (const spec of specs) {
    const data = params.get(spec.name);
    if (!(data instanceof Float32Array)) throw new UserError(`exportOnnx: "params" has no Float32Array "${spec.name}"`);
    if (data.length !== sizeOf(spec.shape))
      throw new UserError(`exportOnnx: "params" "${spec.name}" has ${data.length} values, expected [${spec.shape.join(', ')}]`);
  }
  const shapeOf = new Map(specs.map((s) => [s.name, s.shape]));
  const g = new Graph();
  const h = config.hidden_size;
  const nh = config.num_attention_heads;
  const hs = headSize(config);
  const p = config.patch_size;

  /** A parameter as stored. */
  const param = (name: string): string => g.tensor(name, shapeOf.get(name)!, params.get(name)!);
  /** A Linear weight [out, in] transposed to [in, out], for MatMul on [batch, tokens, in]. */
  const weightT = (name: string): string => {
    const [out, inp] = shapeOf.get(name)! as [number, number];
    const w = params.get(name)!;
    const t = new Float32Array(w.length);
    for (let o = 0; o < out; o++) for (let i = 0; i < inp; i++) t[i * out + o] = w[o * inp + i]!;
    return g.tensor(`${name}_transposed`, [inp, out], t);
  };
  const linear = (x: string, name: string, prefix: string, bias = true): string => {
    const y = g.op('MatMul', [x, weightT(`${name}.weight`)], prefix);
    return bias ? g.op('Add', [y, param(`${name}.bias`)], prefix) : y;
  };
  const layerNorm = (x: string, name: string): string =>
    g.op('LayerNormalization', [x, param(`${name}.weight`), param(`${name}.bias`)], `/${name}`, {
      axis: -1,
      epsilon: float(config.layer_norm_eps),
    });
  const gelu = (x: string, prefix: string): string => {
    const half = g.constant([0.5], 'float', true);
    const one = g.constant([1], 'float', true);
    let inner: string;
    if (config.hidden_act === 'gelu') {
      // Exact: 0.5·x·(1 + erf(x/√2)).
      inner = g.op('Erf', [g.op('Mul', [x, g.constant([Math.SQRT1_2], 'float', true)], prefix)], prefix);
    } else {
      // The seed's tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
      const cube = g.op('Mul', [g.op('Mul', [x, x], prefix), x], prefix);
      const sum = g.op('Add', [x, g.op('Mul', [cube, g.constant([0.044715], 'float', true)], prefix)], prefix);
      inner = g.op('Tanh', [g.op('Mul', [sum, g.constant([Math.sqrt(2 / Math.PI)], 'float', true)], prefix)], prefix);
    }
    return g.op('Mul', [g.op('Mul', [x, half], prefix), g.op('Add', [inner, one], prefix)], prefix);
  };

  // Patch embedding: a strided convolution, then [batch, hidden, grid, grid] → [batch, patches, hidden].
  let pre = '/embedding';
  const conv = g.op(
    'Conv',
    ['pixel_values', param('embedding.patch_embeddings.projection.weight'), param('embedding.patch_embeddings.projection.bias')],
    pre,
    { kernel_shape: [p, p], strides: [p, p] },
  );
  const flat = g.op('Reshape', [conv, g.constant([0, h, -1], 'int64')], pre);
  const patches = g.op('Transpose', [flat], pre, { perm: [0, 2, 1] });
  // [CLS] broadcast to the batch: Expand to [batch, 1, hidden], batch read from the input's shape.
  const batch = g.op('Shape', ['pixel_values'], pre, { start: 0, end: 1 });
  const clsShape = g.op('Concat', [batch, g.constant([1, h], 'int64')], pre, { axis: 0 });
  const cls = g.op('Expand', [param('embedding.cls_token'), clsShape], pre);
  const tokens = g.op('Concat', [cls, patches], pre, { axis: 1 });
  let x = g.op('Add', [tokens, param('embedding.position_embeddings')], pre);

  const scale = g.constant([Math.sqrt(hs)], 'float', true);
  for (let i = 0; i < config.num_hidden_layers; i++) {
    const block = `encoder.blocks.${i}`;
    pre = `/${block}/attention`;
    const qkv = linear(layerNorm(x, `${block}.layernorm_1`), `${block}.attention.qkv_projection`, pre, config.qkv_bias);
    // [batch, tokens, 3·hidden] → [3, batch, heads, tokens, head_size]: the canonical rows are queries, keys, values, each head by head.
    const split = g.op('Transpose', [g.op('Reshape', [qkv, g.constant([0, 0, 3, nh, hs], 'int64')], pre)], pre, { perm: [2, 0, 3, 1, 4] });
    const pick = (j: number): string => g.op('Gather', [split, g.constant([j], 'int64', true)], pre, { axis: 0 });
    const [q, k, v] = [pick(0), pick(1), pick(2)];
    const scores = g.op('Div', [g.op('MatMul', [q, g.op('Transpose', [k], pre, { perm: [0, 1, 3, 2] })], pre), scale], pre);
    const probs = g.op('Softmax', [scores], pre, { axis: -1 });
    const context = g.op('Transpose', [g.op('MatMul', [probs, v], pre)], pre, { perm: [0, 2, 1, 3] });
    const merged = g.op('Reshape', [context, g.constant([0, 0, h], 'int64')], pre);
    x = g.op('Add', [x, linear(merged, `${block}.attention.output_projection`, pre)], `/${block}`);

    pre = `/${block}/mlp`;
    const hidden = gelu(linear(layerNorm(x, `${block}.layernorm_2`), `${block}.mlp.dense_1`, pre), pre);
    x = g.op('Add', [x, linear(hidden, `${block}.mlp.dense_2`, pre)], `/${block}`);
  }
  if (config.final_layernorm) x = layerNorm(x, 'layernorm');
  const first = g.op('Gather', [x, g.constant([0], 'int64', true)], '/classifier', { axis: 1 });
  g.op('Gemm', [first, param('classifier.weight'), param('classifier.bias')], '/classifier', { transB: 1 }, 'logits');

  const tensorType = (dims: (number | string)[]): unknown => ({
    tensor_type: {
      elem_type: FLOAT,
      shape: { dim: dims.map((d) => (typeof d === 'string' ? { dim_param: d } : { dim_value: d })) },
    },
  });
  const Model = modelType();
  const model = Model.fromObject({
    ir_version: ONNX_IR_VERSION,
    opset_import: [{ domain: '', version: ONNX_OPSET }],
    producer_name: 'vit-ts',
    doc_string: 'Vision Transformer exported by vit-ts. Input: normalized pixels; output: class logits.',
    graph: {
      name: 'vit',
      node: g.nodes,
      initializer: g.initializers,
      input: [{ name: 'pixel_values', type: tensorType(['batch', config.num_channels, config.image_size, config.image_size]) }],
      output: [{ name: 'logits', type: tensorType(['batch', config.num_classes]) }],
    },
    metadata_props: [
      { key: 'config', value: JSON.stringify(config) },
      ...(config.labels ? [{ key: 'labels', value: JSON.stringify(config.labels) }] : []),
    ],
  });
  return Model.encode(model).finish();
}
