/**
 * Layers 2 and 3 of the .ms scanner, on a buffer the verifier has passed (pure).
 * Layer 2: the checks Lite runs after the Verifier (GenerateModel, ModelVerify, NodeVerify,
 * SubGraphVerify, SubGraphInOutVerify, and the tensor checks at session compile time); Lite
 * refuses a file that fails them, so they are `malformed`. Lite's own implementation is quadratic
 * (it counts each node index against the whole list); this one uses sets and is linear, with a
 * work budget proportional to the file size so that shared tables cannot multiply the work.
 * Layer 3: what Lite accepts but should not: external-data paths, plus informative notes.
 */
import { ScanAbort, type ScanContext } from '../types.js';
import { resolveModelReference } from '../reference.js';
import type { FlatBufferReader } from './flatbuffer.js';
import { MS_ENUMS, MS_TABLES, MS_UNION_MEMBERS } from './schema.js';

/** MindSpore TypeId values Lite uses (mindapi/base/type_id.h). */
const TYPE_STRING = 12;
const TYPE_TENSOR_TYPE = 17;
const NUMBER_TYPE_BEGIN = 29;
const NUMBER_TYPE_END = 51;
const MONAD_TYPE_END = 55;
/** Element sizes of the fixed-size number types. */
const TYPE_SIZES: Readonly<Record<number, number>> = { 30: 1, 31: 4, 32: 1, 33: 2, 34: 4, 35: 8, 36: 4, 37: 1, 38: 2, 39: 4, 40: 8, 41: 4, 42: 2, 43: 4, 44: 8 };
const NODE_TYPE_VALUE = 0;

const PARTIAL_FUSION = MS_UNION_MEMBERS.indexOf('PartialFusion');
const CUSTOM = MS_UNION_MEMBERS.indexOf('Custom');
/** Ops that may take or produce TensorType (17) tensors: TensorList* and Partial. */
const TENSOR_TYPE_OPS = new Set(MS_UNION_MEMBERS.map((m, i) => (m.startsWith('TensorList') || m.startsWith('Partial') ? i : -1)).filter((i) => i >= 0));

function slotOf(table: keyof typeof MS_TABLES, field: string): number {
  const slot = MS_TABLES[table].findIndex(([name]) => name === field);
  if (slot < 0) throw new Error(`schema has no ${table}.${field}`);
  return slot;
}
const META = { version: slotOf('MetaGraph', 'version'), inputIndex: slotOf('MetaGraph', 'inputIndex'), outputIndex: slotOf('MetaGraph', 'outputIndex'), nodes: slotOf('MetaGraph', 'nodes'), allTensors: slotOf('MetaGraph', 'allTensors'), subGraph: slotOf('MetaGraph', 'subGraph'), obfuscate: slotOf('MetaGraph', 'obfuscate') };
const TENSOR = { nodeType: slotOf('Tensor', 'nodeType'), dataType: slotOf('Tensor', 'dataType'), dims: slotOf('Tensor', 'dims'), format: slotOf('Tensor', 'format'), data: slotOf('Tensor', 'data'), enableHuffmanCode: slotOf('Tensor', 'enableHuffmanCode'), weightQuantCompressType: slotOf('Tensor', 'weightQuantCompressType'), externalData: slotOf('Tensor', 'externalData'), name: slotOf('Tensor', 'name') };
const CNODE = { name: slotOf('CNode', 'name'), primitive: slotOf('CNode', 'primitive'), inputIndex: slotOf('CNode', 'inputIndex'), outputIndex: slotOf('CNode', 'outputIndex'), quantType: slotOf('CNode', 'quantType') };
const SUBGRAPH = { name: slotOf('SubGraph', 'name'), inputIndices: slotOf('SubGraph', 'inputIndices'), outputIndices: slotOf('SubGraph', 'outputIndices'), nodeIndices: slotOf('SubGraph', 'nodeIndices'), tensorIndices: slotOf('SubGraph', 'tensorIndices') };
const PRIMITIVE = { type: slotOf('Primitive', 'value_type'), value: slotOf('Primitive', 'value') };
const PARTIAL_INDEX = slotOf('PartialFusion', 'sub_graph_index');
const CUSTOM_TYPE = slotOf('Custom', 'type');
const EXTERNAL = { location: slotOf('ExternalData', 'location'), offset: slotOf('ExternalData', 'offset'), length: slotOf('ExternalData', 'length') };

export interface MsGraphInfo {
  readonly version: string;
  readonly nodes: number;
  readonly tensors: number;
  readonly subgraphs: number;
}

interface Tensor {
  readonly pos: number;
  readonly nodeType: number;
  readonly dataType: number;
  readonly dataLength: number;
}

interface SubGraph {
  readonly inputs: number[];
  readonly outputs: number[];
  readonly nodes: number[];
  readonly tensors: number[];
}

/** Runs Lite's semantic checks and the beyond-Lite checks; reports through ctx. */
export function checkMsGraph(fb: FlatBufferReader, ctx: ScanContext, legacy: boolean): MsGraphInfo {
  let budget = 16 * fb.source.size + 1_000_000;
  const spend = (n: number) => {
    budget -= n;
    if (budget < 0) throw new ScanAbort('SCAN_LIMIT_EXCEEDED', 'the graph checks exceeded their work budget (tables shared too often)');
  };
  const report = ctx.report;
  const root = fb.root();
  const versionPos = fb.ref(root, META.version);
  const version = versionPos === 0 ? '' : fb.string(versionPos, 256);
  const u32List = (vector: number): number[] => {
    if (vector === 0) return [];
    const n = fb.length(vector);
    spend(n);
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) out[i] = fb.u32(fb.element(vector, i, 4));
    return out;
  };

  const nodesVec = fb.ref(root, META.nodes);
  const tensorsVec = fb.ref(root, META.allTensors);
  if (nodesVec === 0) report({ code: 'MS_GRAPH_MISSING', message: 'the model has no nodes list' });
  if (tensorsVec === 0) report({ code: 'MS_GRAPH_MISSING', message: 'the model has no tensors list' });
  const graphInputs = u32List(fb.ref(root, META.inputIndex));
  const graphOutputs = u32List(fb.ref(root, META.outputIndex));
  if (fb.field(root, META.inputIndex) === 0 || fb.field(root, META.outputIndex) === 0) report({ code: 'MS_GRAPH_MISSING', message: 'the model has no graph input or output list' });
  const nodeCount = nodesVec === 0 ? 0 : fb.length(nodesVec);
  const tensorCount = tensorsVec === 0 ? 0 : fb.length(tensorsVec);
  spend(nodeCount + tensorCount);

  // Tensors: per distinct table (a shared table is checked once).
  const tensors: Tensor[] = new Array(tensorCount);
  const checkedTensors = new Map<number, Tensor>();
  let compressed = 0;
  for (let i = 0; i < tensorCount; i++) {
    const pos = fb.tableAt(tensorsVec, i);
    const seen = checkedTensors.get(pos);
    if (seen !== undefined) {
      tensors[i] = seen;
      continue;
    }
    const dataPos = fb.ref(pos, TENSOR.data);
    const t: Tensor = { pos, nodeType: fb.scalarI32(pos, TENSOR.nodeType, 0), dataType: fb.scalarI32(pos, TENSOR.dataType, 0), dataLength: dataPos === 0 ? 0 : fb.length(dataPos) };
    tensors[i] = t;
    checkedTensors.set(pos, t);
    const format = fb.scalarI32(pos, TENSOR.format, 0);
    if (format < MS_ENUMS.Format.min || format > MS_ENUMS.Format.max) report({ code: 'MS_GRAPH_INVALID', message: `tensor ${i} has format ${format}, outside the Format enum`, detail: { tensor: i, format } });
    if (t.dataType <= 0 || t.dataType >= MONAD_TYPE_END) report({ code: 'MS_GRAPH_INVALID', message: `tensor ${i} has data type ${t.dataType}, outside the range Lite accepts`, detail: { tensor: i, dataType: t.dataType } });
    const isCompressed = fb.scalarI32(pos, TENSOR.weightQuantCompressType, 0) !== 0 || fb.scalarU8(pos, TENSOR.enableHuffmanCode, 0) !== 0;
    if (isCompressed) compressed++;
    if (t.dataLength > 0) {
      const dims = (() => {
        const v = fb.ref(pos, TENSOR.dims);
        if (v === 0) return [];
        const n = fb.length(v);
        spend(n);
        return Array.from({ length: n }, (_, k) => fb.i32(fb.element(v, k, 4)));
      })();
      // Lite refuses dims <= 0 when it converts a constant tensor (inputs may be dynamic, -1).
      const bad = dims.find((d) => d <= 0);
      if (bad !== undefined) report({ code: 'MS_GRAPH_INVALID', message: `tensor ${i} has a dimension ${bad}; Lite needs every dimension > 0`, detail: { tensor: i, dim: bad } });
      const elementSize = TYPE_SIZES[t.dataType];
      if (!isCompressed && bad === undefined && elementSize !== undefined) {
        const needed = dims.reduce((p, d) => p * BigInt(d), 1n) * BigInt(elementSize);
        if (BigInt(t.dataLength) < needed) {
          report({ code: 'MS_TENSOR_DATA_SIZE', message: `tensor ${i} has ${t.dataLength} data bytes, its shape and type need ${needed}`, offset: dataPos, detail: { tensor: i, bytes: t.dataLength, needed: needed.toString() } });
        }
      }
    } else checkExternalData(fb, ctx, pos, i, spend);
  }
  if (compressed > 0) report({ code: 'MS_COMPRESSED_WEIGHTS', message: `${compressed} tensor(s) hold compressed weights, which Lite's weight decoder parses`, detail: { tensors: compressed } });

  const inRange = (index: number) => index < tensorCount;
  for (const [what, list] of [['graph input', graphInputs], ['graph output', graphOutputs]] as const) {
    for (const index of list) if (!inRange(index)) report({ code: 'MS_INDEX_OUT_OF_RANGE', message: `${what} ${index} is not a tensor index (${tensorCount} tensors)`, detail: { index, tensors: tensorCount } });
  }

  // Subgraphs: absent in the v0 layout; Lite then maps the whole graph to one subgraph.
  const subgraphVec = fb.ref(root, META.subGraph);
  const subgraphs: SubGraph[] = [];
  if (subgraphVec === 0) {
    subgraphs.push({ inputs: graphInputs, outputs: graphOutputs, nodes: Array.from({ length: nodeCount }, (_, i) => i), tensors: [] });
    spend(nodeCount);
  } else {
    const n = fb.length(subgraphVec);
    spend(n);
    for (let s = 0; s < n; s++) {
      const pos = fb.tableAt(subgraphVec, s);
      for (const [name, slot] of [['name', SUBGRAPH.name], ['inputIndices', SUBGRAPH.inputIndices], ['outputIndices', SUBGRAPH.outputIndices], ['tensorIndices', SUBGRAPH.tensorIndices]] as const) {
        if (fb.field(pos, slot) === 0) report({ code: 'MS_GRAPH_MISSING', message: `subgraph ${s} has no ${name}`, detail: { subgraph: s, field: name } });
      }
      subgraphs.push({ inputs: u32List(fb.ref(pos, SUBGRAPH.inputIndices)), outputs: u32List(fb.ref(pos, SUBGRAPH.outputIndices)), nodes: u32List(fb.ref(pos, SUBGRAPH.nodeIndices)), tensors: u32List(fb.ref(pos, SUBGRAPH.tensorIndices)) });
    }
  }

  // ModelVerify, model level.
  if (subgraphs.length === 0 || graphInputs.length === 0 || graphOutputs.length === 0) report({ code: 'MS_GRAPH_MISSING', message: 'the model needs at least one subgraph, one input and one output' });
  if (graphInputs.length === graphOutputs.length && graphInputs.every((v, i) => v === graphOutputs[i])) report({ code: 'MS_GRAPH_INVALID', message: 'the graph inputs are the graph outputs' });
  for (const index of graphInputs) {
    const t = tensors[index];
    if (t !== undefined && !((t.dataType > NUMBER_TYPE_BEGIN && t.dataType < NUMBER_TYPE_END) || t.dataType === TYPE_STRING)) {
      report({ code: 'MS_GRAPH_INVALID', message: `graph input tensor ${index} has data type ${t.dataType}, not a number or string type`, detail: { tensor: index, dataType: t.dataType } });
    }
  }
  if (graphOutputs.length === 1 && subgraphs[0] !== undefined && subgraphs[0].outputs.length !== 1) report({ code: 'MS_GRAPH_INVALID', message: 'the graph has one output but its first subgraph has another number' });
  const subgraphInputs = new Set(subgraphs.flatMap((s) => s.inputs));
  const subgraphOutputs = new Set(subgraphs.flatMap((s) => s.outputs));
  spend(subgraphInputs.size + subgraphOutputs.size);
  for (const index of graphInputs) if (!subgraphInputs.has(index)) report({ code: 'MS_GRAPH_INVALID', message: `graph input ${index} is no subgraph's input`, detail: { tensor: index } });
  for (const index of graphOutputs) if (!subgraphOutputs.has(index)) report({ code: 'MS_GRAPH_INVALID', message: `graph output ${index} is no subgraph's output`, detail: { tensor: index } });

  // Which subgraph holds each node (for PartialFusion's self-reference check).
  const subgraphOfNode = new Map<number, number>();
  subgraphs.forEach((s, i) => s.nodes.forEach((n) => subgraphOfNode.has(n) || subgraphOfNode.set(n, i)));

  // NodeVerify, per node.
  const outputsOfNode: number[][] = new Array(nodeCount);
  const customTypes = new Set<string>();
  // A node table shared by several entries is checked once (its checks do not depend on the
  // entry), except PartialFusion's, which depend on the subgraph holding the entry.
  const checkedNodes = new Map<number, { outputs: number[]; partialTarget: bigint | undefined }>();
  const checkPartial = (i: number, target: bigint) => {
    const own = subgraphOfNode.get(i);
    if (target < 0n || target >= BigInt(subgraphs.length) || (own !== undefined && target === BigInt(own))) {
      report({ code: 'MS_INDEX_OUT_OF_RANGE', message: `node ${i} (PartialFusion) calls subgraph ${target}, which is out of range or its own`, detail: { node: i, subgraph: target.toString() } });
    }
  };
  for (let i = 0; i < nodeCount; i++) {
    const pos = fb.tableAt(nodesVec, i);
    const known = checkedNodes.get(pos);
    if (known !== undefined) {
      outputsOfNode[i] = known.outputs;
      if (known.partialTarget !== undefined) checkPartial(i, known.partialTarget);
      spend(1);
      continue;
    }
    const inputs = u32List(fb.ref(pos, CNODE.inputIndex));
    const outputs = u32List(fb.ref(pos, CNODE.outputIndex));
    outputsOfNode[i] = outputs;
    const memo: { outputs: number[]; partialTarget: bigint | undefined } = { outputs, partialTarget: undefined };
    checkedNodes.set(pos, memo);
    const quantType = fb.scalarI32(pos, CNODE.quantType, 0);
    if (quantType < MS_ENUMS.QuantType.min || quantType > MS_ENUMS.QuantType.max) report({ code: 'MS_GRAPH_INVALID', message: `node ${i} has quantType ${quantType}, outside the QuantType enum`, detail: { node: i, quantType } });
    const primitive = fb.ref(pos, CNODE.primitive);
    let opType = -1;
    if (primitive === 0) report({ code: 'MS_GRAPH_MISSING', message: `node ${i} has no primitive`, detail: { node: i } });
    else opType = fb.scalarU8(primitive, PRIMITIVE.type, 0);
    for (const [what, list] of [['input', inputs], ['output', outputs]] as const) {
      for (const index of list) if (!inRange(index)) report({ code: 'MS_INDEX_OUT_OF_RANGE', message: `node ${i} ${what} ${index} is not a tensor index (${tensorCount} tensors)`, detail: { node: i, index, tensors: tensorCount } });
    }
    const seen = new Set<number>();
    for (const index of outputs) {
      if (seen.has(index)) report({ code: 'MS_DUPLICATE_INDEX', message: `node ${i} lists output ${index} twice`, detail: { node: i, index } });
      seen.add(index);
      const t = tensors[index];
      if (t !== undefined && t.nodeType === NODE_TYPE_VALUE && t.dataLength > 0) report({ code: 'MS_GRAPH_INVALID', message: `node ${i} writes to constant tensor ${index}`, detail: { node: i, tensor: index } });
    }
    // v0 files number the union differently: op-specific checks only apply to MSL2 files.
    if (!legacy && opType > 0) {
      if (!TENSOR_TYPE_OPS.has(opType)) {
        for (const index of [...inputs, ...outputs]) {
          if (tensors[index]?.dataType === TYPE_TENSOR_TYPE) report({ code: 'MS_GRAPH_INVALID', message: `node ${i} (${MS_UNION_MEMBERS[opType] ?? opType}) uses TensorType tensor ${index}`, detail: { node: i, tensor: index } });
        }
      }
      const value = fb.ref(primitive, PRIMITIVE.value);
      if (opType === PARTIAL_FUSION && value !== 0) {
        memo.partialTarget = fb.scalarI64(value, PARTIAL_INDEX, 0n);
        checkPartial(i, memo.partialTarget);
      }
      if (opType === CUSTOM && value !== 0 && customTypes.size < 32) {
        const typePos = fb.ref(value, CUSTOM_TYPE);
        customTypes.add(typePos === 0 ? '' : fb.string(typePos, 128));
      }
    }
  }
  if (customTypes.size > 0) report({ code: 'MS_CUSTOM_OP', message: `custom operators the host must provide: ${[...customTypes].join(', ')}`, detail: { types: [...customTypes].join(',') } });

  // SubGraphVerify and SubGraphInOutVerify.
  subgraphs.forEach((sg, s) => {
    if (s === 0 && (sg.inputs.length === 0 || sg.outputs.length === 0)) report({ code: 'MS_GRAPH_INVALID', message: 'the first subgraph needs at least one input and one output' });
    for (const [what, list] of [['input', sg.inputs], ['output', sg.outputs], ['tensor', sg.tensors]] as const) {
      for (const index of list) if (!inRange(index)) report({ code: 'MS_INDEX_OUT_OF_RANGE', message: `subgraph ${s} ${what} ${index} is not a tensor index`, detail: { subgraph: s, index } });
    }
    const nodes = new Set<number>();
    const produced = new Set<number>();
    for (const n of sg.nodes) {
      if (n >= nodeCount) report({ code: 'MS_INDEX_OUT_OF_RANGE', message: `subgraph ${s} lists node ${n} (${nodeCount} nodes)`, detail: { subgraph: s, node: n } });
      else if (nodes.has(n)) report({ code: 'MS_DUPLICATE_INDEX', message: `subgraph ${s} lists node ${n} twice`, detail: { subgraph: s, node: n } });
      else {
        nodes.add(n);
        const outs = outputsOfNode[n] ?? [];
        spend(outs.length);
        for (const o of outs) produced.add(o);
      }
    }
    const inputs = new Set(sg.inputs);
    for (const index of sg.inputs) {
      const t = tensors[index];
      if (produced.has(index)) report({ code: 'MS_GRAPH_INVALID', message: `subgraph ${s} input ${index} is produced by one of its nodes`, detail: { subgraph: s, tensor: index } });
      if (t !== undefined && t.dataLength > 0 && t.dataType !== TYPE_TENSOR_TYPE) report({ code: 'MS_GRAPH_INVALID', message: `subgraph ${s} input ${index} carries constant data`, detail: { subgraph: s, tensor: index } });
    }
    for (const index of sg.outputs) {
      const t = tensors[index];
      if (inputs.has(index) || t === undefined) continue;
      const ok = produced.has(index) ? t.dataLength === 0 : t.dataLength > 0;
      if (!ok) report({ code: 'MS_GRAPH_INVALID', message: `subgraph ${s} output ${index} is ${produced.has(index) ? 'produced by a node but carries constant data' : 'produced by no node and carries no data'}`, detail: { subgraph: s, tensor: index } });
    }
  });

  if (fb.scalarU8(root, META.obfuscate, 0) !== 0) report({ code: 'MS_OBFUSCATED', message: 'the model is obfuscated: its operator types are hidden' });
  const major = /^MindSpore Lite (\d+)\./.exec(version);
  if (major !== null && Number(major[1]) > KNOWN_MAJOR) report({ code: 'MS_VERSION_NEWER', message: `written by ${version}, newer than the schema this scanner knows`, detail: { version } });
  return { version, nodes: nodeCount, tensors: tensorCount, subgraphs: subgraphVec === 0 ? 0 : subgraphs.length };
}

/** The schema table comes from a MindSpore Lite 2.x source tree. */
const KNOWN_MAJOR = 2;

/**
 * Tensors without inline data may name an external weight file. Lite joins it to the model's
 * directory and reads it with no confinement: `..`, absolute paths and symlinks all work. Here
 * the location must name a file of the model itself (checked against the model's file set).
 */
function checkExternalData(fb: FlatBufferReader, ctx: ScanContext, tensor: number, index: number, spend: (n: number) => void): void {
  const vec = fb.ref(tensor, TENSOR.externalData);
  if (vec === 0) return;
  const count = fb.length(vec);
  spend(count);
  if (count === 0) return;
  if (count !== 1) {
    ctx.report({ code: 'MS_EXTERNAL_DATA_RANGE', message: `tensor ${index} has ${count} external-data entries; Lite takes exactly one`, detail: { tensor: index, entries: count } });
    return;
  }
  const entry = fb.tableAt(vec, 0);
  const locationPos = fb.ref(entry, EXTERNAL.location);
  const offset = fb.scalarI64(entry, EXTERNAL.offset, 0n);
  const length = fb.scalarI64(entry, EXTERNAL.length, -1n);
  if (locationPos === 0) {
    ctx.report({ code: 'MS_EXTERNAL_DATA_PATH', message: `tensor ${index} has external data without a location (Lite dereferences a null pointer)`, detail: { tensor: index } });
    return;
  }
  const rawLength = fb.length(locationPos);
  const location = fb.string(locationPos, 4096);
  const resolved = rawLength > 4096 ? { escapes: 'the location is longer than 4096 bytes' } : resolveModelReference(ctx.path, location);
  if ('escapes' in resolved) {
    ctx.report({ code: 'MS_EXTERNAL_DATA_PATH', message: `tensor ${index} reads external data from ${JSON.stringify(location)}: ${resolved.escapes}`, detail: { tensor: index, location } });
    return;
  }
  if (!ctx.modelFiles.has(resolved.path)) {
    ctx.report({ code: 'MS_EXTERNAL_DATA_UNSIGNED', message: `tensor ${index} reads external data from ${resolved.path}, which is not part of the model; sign the directory that holds both`, detail: { tensor: index, location } });
    return;
  }
  if (offset < 0n || length <= 0n) {
    ctx.report({ code: 'MS_EXTERNAL_DATA_RANGE', message: `tensor ${index} has external-data offset ${offset} and length ${length}; Lite needs offset >= 0 and length > 0`, detail: { tensor: index, offset: offset.toString(), length: length.toString() } });
    return;
  }
  const size = ctx.modelFileSizes?.get(resolved.path);
  if (size !== undefined && offset + length > BigInt(size)) {
    ctx.report({ code: 'MS_EXTERNAL_DATA_RANGE', message: `tensor ${index} reads bytes ${offset}..${offset + length} of ${resolved.path}, which has ${size}`, detail: { tensor: index, location, size } });
  }
}
