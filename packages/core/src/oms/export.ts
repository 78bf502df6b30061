import { toHex, utf8 } from '../bytes.js';
import { BUNDLE_MEDIA_TYPE, IN_TOTO_PAYLOAD_TYPE } from './bundle.js';
import { encodeBase64 } from './json.js';
import { PREDICATE_V1, rootOfDigests, STATEMENT_TYPE } from './statement.js';

/**
 * Writing OMS bundles that model_signing's verifier (1.1.1) accepts, in the one shape that every
 * model_signing release from 1.0 on and the OMS v1.0 schema agree on: files mode, SHA-256, one
 * resource per file ("." for a single-file model), the media type model_signing compares exactly,
 * a key hint, a DER ECDSA signature, and no field beyond those (model_signing's bundle parser
 * refuses unknown fields at every level).
 */
export interface OmsExportFile {
  /** Model-relative POSIX path; "." for a single-file model. */
  readonly path: string;
  readonly digest: Uint8Array;
}

export interface OmsStatementInput {
  /** The model's directory or file name (informational: no verifier compares it). */
  readonly subjectName: string;
  /** In the order to list them: the root digest is computed over this order. */
  readonly files: readonly OmsExportFile[];
  /** Recorded so model_signing 1.1 verifiers leave them out without being told. */
  readonly ignorePaths: readonly string[];
}

/** The statement's exact bytes (2-space indented JSON, as model_signing writes it). */
export function encodeOmsStatement(input: OmsStatementInput): Uint8Array {
  const statement = {
    _type: STATEMENT_TYPE,
    subject: [{ name: input.subjectName, digest: { sha256: toHex(rootOfDigests(input.files.map((f) => f.digest))) } }],
    predicateType: PREDICATE_V1,
    predicate: {
      resources: input.files.map((f) => ({ name: f.path, algorithm: 'sha256', digest: toHex(f.digest) })),
      serialization: { method: 'files', hash_type: 'sha256', allow_symlinks: false, ignore_paths: [...input.ignorePaths] },
    },
  };
  return utf8(JSON.stringify(statement, null, 2));
}

/** The bundle file: `signature` is DER ECDSA over the DSSE PAE of `payload`; `hint` names the key. */
export function encodeOmsBundle(payload: Uint8Array, signature: Uint8Array, hint: string): Uint8Array {
  const bundle = {
    mediaType: BUNDLE_MEDIA_TYPE,
    verificationMaterial: { publicKey: { hint }, tlogEntries: [] },
    dsseEnvelope: { payload: encodeBase64(payload), payloadType: IN_TOTO_PAYLOAD_TYPE, signatures: [{ sig: encodeBase64(signature), keyid: '' }] },
  };
  return utf8(`${JSON.stringify(bundle, null, 2)}\n`);
}
