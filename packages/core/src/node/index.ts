/**
 * @ms-sign/core/node: ms-sign on the file system. Sign a model file or directory, verify it
 * against a trust policy, load or copy exactly the bytes that were verified, and read and write
 * the trust policy and rollback-state files. The pure parts (keys, policies, formats, signers)
 * are in `@ms-sign/core`.
 */
export { writeFileAtomic } from './files.js';
export { nodeSha512, nodeEd25519Equation, nodeKeyFileCipher } from './crypto.js';
export { DEFAULT_SHARD_SIZE } from './hash/tuning.js';
export type { HashingOptions, CompareOptions } from './contents.js';
export { defaultSignaturePath } from './signature-path.js';
export { signModel, cosignModel, SignScanRefusal, type SignModelOptions, type SignedModel, type SignScanReport, type CosignOptions, type CosignedModel } from './sign.js';
export { verifyModel, type VerifyModelOptions, type VerificationReport, type VerifyScanReport, type TrustSource } from './verify.js';
export { loadVerifiedModel, loadVerifiedDirectory, copyVerifiedModel, ModelVerificationError, type VerifiedReadOptions } from './verified-bytes.js';
export { readVerifiedModel, SPOOL_ABOVE_BYTES, type VerifiedStream } from './verified-bytes.js';
export {
  locateTrustPolicy,
  userTrustPolicyPath,
  checkPolicyFileOwnership,
  SYSTEM_TRUST_POLICY_PATH,
  type LocateTrustPolicyOptions,
  readTrustPolicyFile,
  writeTrustPolicyFile,
  readRollbackState,
  writeRollbackState,
  type TrustPolicyLocation,
  type TrustPolicyOrigin,
} from './trust-files.js';
export { scanModel, scanFileAt, scanVerifiedFiles, scanWalkedFiles, type ScanModelOptions, type ModelScanReport, type VerifiedFileForScan } from './scan.js';
export { FileSource } from './file-source.js';

// OMS / model_signing bundles on the file system: compare a model, verify it, export a bundle.
export { compareOmsModel, compareOmsContents, omsIgnoredPaths, GIT_PATHS } from './oms/contents.js';
export { verifyOmsModel, type VerifyOmsOptions, type OmsVerificationReport } from './oms/verify.js';
export { signOmsModel, type SignOmsOptions } from './oms/sign.js';
export {
  openPkcs11Signer,
  generatePkcs11Ed25519Key,
  type Pkcs11Signer,
  type Pkcs11Options,
  type PinProvider,
  type GeneratedPkcs11Key,
} from './signers/pkcs11.js';
export { commandSigner, splitCommandLine, SIGNER_COMMAND_LIMITS, type CommandSignerOptions } from './signers/command.js';

// OMS / model_signing bundles: ECDSA, X.509 and Sigstore checks need node:crypto, so they live here.
export { parseEcPublicKeyPem, ecPublicKeyFromSpki, ecPublicKeyFromKeyObject, omsKeyHint, CURVE_HASH, type EcPublicKey, type EcCurve } from './oms/ec-key.js';
export { verifyCertificateChain, certificateFingerprint } from './oms/chain.js';
export { parseSigstoreTrustedRoot, type SigstoreTrust } from './oms/sigstore.js';
export { verifyOmsSignature, type OmsTrustAnchors, type OmsSigner, type VerifiedOmsSignature } from './oms/signature.js';
export { ecdsaKeySigner, parseEcdsaSecretKeyPem, generateEcdsaKeyPem } from './oms/ecdsa-signer.js';
export { OMS_FORMAT } from './oms/format.js';
export { ALL_SIGNATURE_FORMATS } from './formats.js';
export { readPkcs8Pem, encodePkcs8Pem, secretKeyFromKeyObject } from './oms/ecdsa-signer.js';
