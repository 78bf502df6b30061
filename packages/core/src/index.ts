/**
 * @ms-sign/core: the pure core of ms-sign. Encoding and strict decoding of signature files and
 * manifests, keys, trust policies and their edits, signature checks and the pure verification
 * stage (verifySignatureFile), and the Signer and SignatureFormat seams. No file I/O here.
 *
 * Signing and verifying models on disk, verify-before-load and the trust files are in
 * `@ms-sign/core/node`.
 */
export * from './errors.js';
export { LIMITS } from './limits.js';
export { toHex } from './bytes.js';

export { caseFoldKey, checkModelPath, findPathCollision } from './format/paths.js';
export { PATH_UNICODE_VERSION } from './format/unicode-fold.js';
export { checkGlob, compileGlob, escapeGlob, type Glob } from './format/glob.js';
export { anchorIgnorePattern, DEFAULT_IGNORE, type IgnorePattern } from './format/ignore.js';
export { encodeCanonical, decodeCanonical, type CborValue, type CborMap, type CborBounds } from './format/cbor.js';
export { SIGNING_DOMAIN, MANIFEST_PAYLOAD_TYPE, signingMessage } from './format/pae.js';
export { encodeEnvelope, decodeEnvelope, type Envelope, type EnvelopeSignature } from './format/envelope.js';
export {
  encodeManifest,
  decodeManifest,
  readManifestListing,
  checkManifest,
  shardCount,
  HASH_ALGORITHMS,
  MANIFEST_VERSION,
  type Manifest,
  type ManifestFile,
  type ManifestHeader,
  type ManifestListing,
  type HashAlgorithm,
  type ModelKind,
  type Subject,
} from './format/manifest.js';
export { createSignatureFile, appendSignature } from './format/signature-file.js';

export { secretKeySigner, type Signer, type SignatureAlgorithm } from './crypto/signer.js';
export { checkPublicKeyBytes, verifyEd25519, nobleEquation, keyIdHex, pureSha512, type Sha512, type Ed25519Equation } from './crypto/ed25519.js';
export {
  publicKeyFromBytes,
  parsePublicKeyPem,
  encodePublicKeyPem,
  encodePublicKeySpki,
  parseSecretKeyPem,
  encodeSecretKeyPem,
  generateSecretKey,
  secretKeyFromSeed,
  SCRYPT_PARAMS,
  KDF_LIMITS,
  type PublicKey,
  type SecretKey,
  type PassphraseProvider,
  type KeyFileCipher,
} from './crypto/keys.js';

export {
  parseTrustPolicy,
  checkTrustPolicy,
  compileTrustPolicy,
  policyFromKeys,
  policyFromAnchors,
  type CommandLineAnchor,
  publicKeyToDocument,
  EMPTY_POLICY_DOCUMENT,
  type TrustPolicy,
  type TrustPolicyDocument,
  type PublisherDocument,
  type KeyDocument,
  type CertificateRootDocument,
  type SigstoreIdentityDocument,
  type TrustedEcdsaKey,
  type TrustedCertificateRoot,
  type TrustedSigstoreIdentity,
  type ValidityWindow,
  type RuleDocument,
  type RevocationDocument,
  type Publisher,
  type TrustedKey,
  type Rule,
  type PolicyFailure,
} from './policy/policy.js';
export {
  addPublisherKey,
  addPublisherAnchor,
  removePublisher,
  revokeKey,
  resolveKeyId,
  setRule,
  removeRule,
  describeRule,
  describeWindow,
  type PolicyEdit,
  type KeyWindow,
  type AddKeyOptions,
  type AnchorToAdd,
  type RuleSettings,
} from './policy/edit.js';
export { findDuplicateJsonKey } from './format/json.js';
export { parseDuration, parseDate, parseWhen, formatDate, formatDuration } from './policy/time.js';
export { parseSemver, compareSemver } from './policy/semver.js';

export { checkSignatures, type SignatureCheck } from './verify/signatures.js';
export { applyPolicy, type AppliedRule, type PolicyOutcome } from './verify/policy-check.js';
export { signerReport, type SignerReport, type SignerVerdict, type CertificateIdentity, type SigstoreIdentity } from './verify/signer-report.js';
export { contentsSummary, type SignedStatement, type ExpectedContents } from './verify/statement.js';
export type { SignatureFormat, SignatureVerification, SignatureDescription, FormatVerifyOptions } from './verify/format.js';
export { NATIVE_FORMAT, describeNativeListing, type NativeListing } from './verify/native-format.js';
export { verifySignatureFile, signatureFormatOf, SIGNATURE_FORMATS, type VerifySignatureFileOptions } from './verify/verify-signature-file.js';
export {
  checkRollback,
  advanceRollbackState,
  mergeRollbackState,
  compareRecords,
  emptyRollbackState,
  type RollbackState,
  type RollbackRecord,
} from './verify/rollback.js';

// OMS / model_signing bundles (interop): parsing, the signature stage, export encoding.
export { parseOmsBundle, looksLikeJsonBundle, BUNDLE_MEDIA_TYPE, IN_TOTO_PAYLOAD_TYPE, type OmsBundle, type OmsMaterial } from './oms/bundle.js';
export { dssePae, legacyPae } from './oms/pae.js';
export {
  parseOmsStatement,
  checkOmsIgnorePath,
  rootOfDigests,
  STATEMENT_TYPE,
  PREDICATE_V1,
  PREDICATE_V01,
  type OmsStatement,
  type OmsFile,
  type OmsResource,
  type OmsFlavour,
} from './oms/statement.js';
export { encodeOmsStatement, encodeOmsBundle, type OmsExportFile, type OmsStatementInput } from './oms/export.js';
export { parsePkcs11Uri, formatPkcs11Id, PKCS11_URI_MAX_LENGTH, type Pkcs11Uri } from './crypto/pkcs11-uri.js';
export {
  SCAN_CODES,
  SCAN_ERROR_CODES,
  SCAN_NOTE_CODES,
  SCAN_POLICY_CODES,
  VERDICT_RANK,
  type ScanCode,
  type ScanCodeInfo,
  type ScanErrorCode,
  type ScanNoteCode,
  type ScanPolicyCode,
  type Severity,
  type Verdict,
  type VerdictEffect,
} from './scan/codes.js';
export {
  ScanAbort,
  RefinedFormat,
  type ByteSource,
  type FileScanResult,
  type Finding,
  type FindingInput,
  type FormatInfo,
  type FormatScanner,
  type NestedScanResult,
  type ScanContext,
} from './scan/types.js';
export { BufferSource } from './scan/source.js';
export { detectFormat, FORMAT_IDS, type Detection, type FormatId } from './scan/detect.js';
export {
  scanFile,
  judgeScan,
  summarizeScan,
  verdictOf,
  SCANNER_VERSION,
  SCAN_MODES,
  SCAN_LIMITS,
  type ScanMode,
  type ScanFileOptions,
  type ScanPolicy,
  type ScanJudgement,
  type ScanSummary,
} from './scan/scan.js';
export { MS_TABLES, MS_UNION_MEMBERS, MS_ENUMS } from './scan/ms/schema.js';
export { FlatBufferReader } from './scan/ms/flatbuffer.js';
export { verifyMsBuffer } from './scan/ms/verifier.js';
export { walkProtobuf, readPackedVarints, readProtoString, PROTOBUF_LIMITS, type ProtoSchema, type ProtoField, type ProtoFieldSpec, type ProtoVisitor, type ProtoWalkOptions, type ProtoWalkStats } from './scan/protobuf.js';
export { applyScanPolicy, DEFAULT_SCAN_MODE, type AppliedScan } from './scan/policy.js';
export { hardDenyReason, HARD_DENY_MODULE_LIST, PROFILES as PICKLE_ALLOWLISTS, TORCH_ALLOWLIST_SOURCE, type PickleProfile } from './scan/pickle/allowlist.js';
