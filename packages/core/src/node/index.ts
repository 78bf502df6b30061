/**
 * @ms-sign/core/node: ms-sign on the file system. Sign a model file or directory, verify it
 * against a trust policy, load or copy exactly the bytes that were verified, and read and write
 * the trust policy and rollback-state files. The pure parts (keys, policies, formats, signers)
 * are in `@ms-sign/core`.
 */
export { writeFileAtomic } from './files.js';
export { DEFAULT_SHARD_SIZE } from './hash/tuning.js';
export type { HashingOptions, CompareOptions } from './contents.js';
export { defaultSignaturePath } from './signature-path.js';
export { signModel, cosignModel, SignScanRefusal, type SignModelOptions, type SignedModel, type SignScanReport, type CosignOptions, type CosignedModel } from './sign.js';
export { verifyModel, type VerifyModelOptions, type VerificationReport, type VerifyScanReport, type TrustSource } from './verify.js';
export { loadVerifiedModel, loadVerifiedDirectory, copyVerifiedModel, ModelVerificationError, type VerifiedReadOptions } from './verified-bytes.js';
export {
  locateTrustPolicy,
  userTrustPolicyPath,
  readTrustPolicyFile,
  writeTrustPolicyFile,
  readRollbackState,
  writeRollbackState,
  type TrustPolicyLocation,
  type TrustPolicyOrigin,
} from './trust-files.js';
export { scanModel, scanFileAt, scanVerifiedFiles, scanWalkedFiles, type ScanModelOptions, type ModelScanReport, type VerifiedFileForScan } from './scan.js';
export { FileSource } from './file-source.js';
export {
  openPkcs11Signer,
  generatePkcs11Ed25519Key,
  type Pkcs11Signer,
  type Pkcs11Options,
  type PinProvider,
  type GeneratedPkcs11Key,
} from './signers/pkcs11.js';
export { commandSigner, splitCommandLine, SIGNER_COMMAND_LIMITS, type CommandSignerOptions } from './signers/command.js';
