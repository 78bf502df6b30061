/**
 * The MindSpore Lite `.ms` scanner (pure): Layer 1 (verifier.ts, Lite's FlatBuffers Verifier in
 * linear time), then Layers 2 and 3 (semantic.ts) on buffers Layer 1 passed.
 */
import { bytesAre, readPrefix } from '../source.js';
import { ScanAbort, type FormatScanner } from '../types.js';
import { FlatBufferReader } from './flatbuffer.js';
import { checkMsGraph } from './semantic.js';
import { FB_MAX_BUFFER, verifyMsBuffer } from './verifier.js';

/** Lite's flatbuffers Verifier's max_tables default; Lite itself switches the limit off. */
export const MS_VISIT_BUDGET = 1_000_000;

export const msScanner: FormatScanner = {
  format: 'mindspore-lite-ms',
  scan(source, ctx) {
    if (source.size >= FB_MAX_BUFFER) {
      ctx.report({ code: 'MS_TOO_LARGE', message: `the file has ${source.size} bytes; Lite refuses models of 2 GiB or more` });
      return undefined;
    }
    // Detection sends files without the identifier here only when they look like the v0 layout.
    const legacy = !bytesAre(readPrefix(source, 0, 8), 4, 'MSL2');
    let verification;
    try {
      verification = verifyMsBuffer(source, !legacy);
    } catch (error) {
      if (!(error instanceof ScanAbort) || !legacy) throw error;
      throw new ScanAbort('MS_IDENTIFIER', `bytes 4..7 are not MSL2, and the file is not a valid legacy (v0) model either: ${error.message}`, error.offset);
    }
    if (legacy) ctx.report({ code: 'MS_LEGACY_SCHEMA', message: 'a v0 model without the MSL2 identifier: current MindSpore Lite refuses it' });
    if (verification.liteVisits > MS_VISIT_BUDGET) {
      ctx.report({
        code: 'MS_FB_AMPLIFICATION',
        message: `shared tables make Lite's verifier visit ${verification.liteVisits} tables (more than ${MS_VISIT_BUDGET}) in a ${source.size}-byte file: a denial of service on load`,
        detail: { visits: verification.liteVisits, tables: verification.tables },
      });
    }
    if (verification.sharedReferences > 0) {
      ctx.report({ code: 'MS_FB_SHARED_TABLE', message: `${verification.sharedReferences} references to tables already referenced elsewhere (Lite's converter never shares tables)`, detail: { references: verification.sharedReferences } });
    }
    if (verification.unknownPrimitives.length > 0) {
      ctx.report({ code: 'MS_UNKNOWN_PRIMITIVE', message: `operator types beyond the schema: ${verification.unknownPrimitives.join(', ')}`, detail: { types: verification.unknownPrimitives.join(',') } });
    }
    const graph = checkMsGraph(new FlatBufferReader(source), ctx, legacy);
    return {
      identifier: legacy ? 'none' : 'MSL2',
      version: graph.version,
      nodes: graph.nodes,
      tensors: graph.tensors,
      subgraphs: graph.subgraphs,
      liteVisits: verification.liteVisits,
    };
  },
};
