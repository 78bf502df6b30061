#!/usr/bin/env node
// Verify before load in Node.js (docs/verify-before-load.md): read the model once, verify exactly
// those bytes against the trust policy, and hand the bytes on. Never reopen the path afterwards.
//
//   node examples/load-verified-model.mjs MODEL [TRUST_POLICY]
//
// TRUST_POLICY defaults to the file `ms-sign verify` would find (-t aside): MS_SIGN_TRUST,
// ./.ms-sign/trust.json, $XDG_CONFIG_HOME/ms-sign/trust.json. Exit code 0 verified, 1 not
// verified, 2 setup error, as the CLI.
import { MsSignError } from '@ms-sign/core';
import { loadVerifiedModel, locateTrustPolicy, ModelVerificationError, readTrustPolicyFile } from '@ms-sign/core/node';
import { createHash } from 'node:crypto';

const [model, policyArg] = process.argv.slice(2);
if (model === undefined) {
  console.error('usage: node examples/load-verified-model.mjs MODEL [TRUST_POLICY]');
  process.exit(2);
}

try {
  const location = locateTrustPolicy(policyArg, process.env, process.cwd());
  if (location === undefined) throw new MsSignError('NO_TRUST_ANCHOR', 'no trust policy found; give one as the second argument');
  const { policy } = readTrustPolicyFile(location.path);
  const { bytes, report } = await loadVerifiedModel(model, { trust: { policy, source: location.path } });

  // `bytes` is exactly what the publisher signed. A real program hands it to its loader here,
  // e.g. a MindSpore Lite binding's Model.build_from_buffer; this example prints its digest.
  const signers = report.signers.filter((s) => s.valid).map((s) => s.publisher).join(', ');
  const digest = createHash('sha256').update(bytes).digest('hex');
  console.log(`verified ${report.subject.name} (signed by ${signers}): ${bytes.length} bytes, sha256 ${digest}`);
} catch (error) {
  if (error instanceof ModelVerificationError) {
    for (const problem of error.report.errors) console.error(`${problem.code}: ${problem.message}`);
    process.exit(1);
  }
  if (error instanceof MsSignError) {
    console.error(`${error.code}: ${error.message}`);
    process.exit(2);
  }
  throw error;
}
