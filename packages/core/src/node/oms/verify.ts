import { MsSignError, problem, type Problem } from '../../errors.js';
import { LIMITS } from '../../limits.js';
import { checkOmsIgnorePath, type OmsFlavour } from '../../oms/statement.js';
import { readBoundedFile } from '../files.js';
import { compareOmsModel, type OmsCompareOptions } from './contents.js';
import { verifyOmsSignature, type OmsSigner, type OmsTrustAnchors } from './signature.js';

export interface VerifyOmsOptions extends Omit<OmsCompareOptions, 'signaturePath'> {
  readonly trust: OmsTrustAnchors;
  /** When certificates must be valid (certificate mode); default: now. */
  readonly at?: Date;
}

/** What verifying an OMS / model_signing bundle found. */
export interface OmsVerificationReport {
  ok: boolean;
  model: string;
  signature: string;
  format: 'oms';
  flavour: OmsFlavour | null;
  signer: OmsSigner | null;
  subject: { name: string | null; rootDigest: string | null };
  serialization: { method: string; hashType: string; shardSize: number | null } | null;
  files: { count: number };
  errors: Problem[];
}

/**
 * Verifies a model against an OMS / model_signing bundle (every model_signing release's layout):
 * the signature first, over the exact payload bytes, then the statement, then the files on disk.
 * Never throws for a model that fails verification; throws MsSignError for setup errors.
 */
export async function verifyOmsModel(modelPath: string, signaturePath: string, options: VerifyOmsOptions): Promise<OmsVerificationReport> {
  const report: OmsVerificationReport = {
    ok: false,
    model: modelPath,
    signature: signaturePath,
    format: 'oms',
    flavour: null,
    signer: null,
    subject: { name: null, rootDigest: null },
    serialization: null,
    files: { count: 0 },
    errors: [],
  };
  const finish = (problems: readonly Problem[]) => {
    report.errors.push(...problems);
    if (options.failFast) report.errors.splice(1);
    report.ok = report.errors.length === 0;
    return report;
  };
  for (const path of options.ignore ?? []) {
    const why = checkOmsIgnorePath(path);
    if (why !== undefined) throw new MsSignError('USAGE', `ignore path ${JSON.stringify(path)} is refused: ${why}; give paths relative to the model root`);
  }
  try {
    const bytes = readBoundedFile(signaturePath, LIMITS.signatureFileBytes, 'MALFORMED_SIGNATURE_FILE', 'signature file');
    if (bytes === undefined) return finish([problem('MISSING_SIGNATURE_FILE', `signature file ${signaturePath} not found`, signaturePath)]);
    const verified = verifyOmsSignature(bytes, options.trust, options.at ?? new Date(), signaturePath);
    const s = verified.statement;
    report.flavour = s.flavour;
    report.signer = verified.signer;
    report.subject = { name: s.subjectName, rootDigest: s.rootDigest };
    report.serialization = { method: s.method, hashType: s.hashType, shardSize: s.shardSize ?? null };
    const compared = await compareOmsModel(s, modelPath, { ...options, signaturePath });
    report.files.count = s.files.length;
    return finish(compared.problems);
  } catch (error) {
    if (error instanceof MsSignError && error.code !== 'IO_ERROR' && error.code !== 'INTERNAL' && error.code !== 'BAD_TRUST_POLICY') return finish([error.toProblem()]);
    throw error;
  }
}
