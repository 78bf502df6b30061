/**
 * @ms-sign/core: sign model files and directories with Ed25519, verify them against a trust
 * policy, and hand back exactly the verified bytes.
 *
 * Pure modules (format, crypto, policy, verify) do no file I/O; everything that touches the file
 * system lives under node/.
 */
export * from './errors.js';
export { LIMITS } from './limits.js';
export { toHex } from './bytes.js';

export { caseFoldKey, checkModelPath, findPathCollision } from './format/paths.js';
export { PATH_UNICODE_VERSION } from './format/unicode-fold.js';
export { checkGlob, compileGlob, escapeGlob, type Glob } from './format/glob.js';
export { encodeCanonical, decodeCanonical, CborDecodeError, type CborValue, type CborMap } from './format/cbor.js';
export { SIGNING_DOMAIN, MANIFEST_PAYLOAD_TYPE, signingMessage } from './format/pae.js';
export { encodeEnvelope, decodeEnvelope, type Envelope, type EnvelopeSignature } from './format/envelope.js';
export {
  encodeManifest,
  decodeManifest,
  shardCount,
  HASH_ALGORITHMS,
  MANIFEST_VERSION,
  type Manifest,
  type ManifestFile,
  type HashAlgorithm,
  type ModelKind,
  type Subject,
} from './format/manifest.js';
export { createSignatureFile, appendSignature } from './format/signature-file.js';

export { checkPublicKeyBytes, verifyEd25519, keyIdHex } from './crypto/ed25519.js';
export {
  publicKeyFromBytes,
  parsePublicKeyPem,
  encodePublicKeyPem,
  parseSecretKeyPem,
  encodeSecretKeyPem,
  generateSecretKey,
  secretKeyFromSeed,
  SCRYPT_PARAMS,
  type PublicKey,
  type SecretKey,
  type PassphraseProvider,
} from './crypto/keys.js';

export {
  parseTrustPolicy,
  checkTrustPolicy,
  compileTrustPolicy,
  policyFromKeys,
  publicKeyToDocument,
  EMPTY_POLICY_DOCUMENT,
  type TrustPolicy,
  type TrustPolicyDocument,
  type PublisherDocument,
  type KeyDocument,
  type RuleDocument,
  type RevocationDocument,
  type Publisher,
  type TrustedKey,
  type Rule,
  type PolicyFailure,
} from './policy/policy.js';
export { parseDuration, parseDate, parseWhen, formatDate, formatDuration } from './policy/time.js';
export { parseSemver, compareSemver } from './policy/semver.js';

export { checkSignatures, type SignatureCheck } from './verify/signatures.js';
export { applyPolicy, type AppliedRule, type SignerReport, type PolicyOutcome } from './verify/policy-check.js';
export {
  checkRollback,
  advanceRollbackState,
  mergeRollbackState,
  compareRecords,
  emptyRollbackState,
  type RollbackState,
  type RollbackRecord,
} from './verify/rollback.js';

export { readBoundedFile, writeFileAtomic } from './node/files.js';
export { walkModel, resolveModel, type ModelWalk, type WalkedFile } from './node/walk.js';
export { hashModelFiles, compareModel } from './node/contents.js';
export { DEFAULT_SHARD_SIZE } from './node/hash/tuning.js';
export { defaultSignaturePath } from './node/signature-path.js';
export { signModel, cosignModel, type SignModelOptions, type SignedModel, type CosignOptions } from './node/sign.js';
export { verifyModel, type VerifyModelOptions, type VerificationReport, type TrustSource } from './node/verify.js';
export { loadVerifiedModel, loadVerifiedDirectory, copyVerifiedModel, ModelVerificationError, type VerifiedReadOptions } from './node/verified-bytes.js';
export {
  locateTrustPolicy,
  userTrustPolicyPath,
  readTrustPolicyFile,
  writeTrustPolicyFile,
  readRollbackState,
  writeRollbackState,
  type TrustPolicyLocation,
  type TrustPolicyOrigin,
} from './node/trust-files.js';
