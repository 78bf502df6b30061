import { bytesEqual, fromHex } from '../bytes.js';
import { checkPublicKeyBytes, keyIdBytes, keyIdHex, pureSha512, verifyEd25519, type Sha512 } from '../crypto/ed25519.js';
import type { Signer } from '../crypto/signer.js';
import { MsSignError } from '../errors.js';
import { LIMITS } from '../limits.js';
import { encodeEnvelope, type Envelope, type EnvelopeSignature } from './envelope.js';
import { encodeManifest, type Manifest } from './manifest.js';
import { MANIFEST_PAYLOAD_TYPE, signingMessage } from './pae.js';

/**
 * Native signature files hold Ed25519 signatures only. Refuses a signer that is not Ed25519, whose
 * public key is not a valid Ed25519 key, or whose key id is not the one its public key gives.
 * Returns the key id bytes the signature entry records.
 */
function checkSigner(signer: Signer): Uint8Array {
  if (signer.algorithm !== 'ed25519') {
    throw new MsSignError('SIGNER_FAILED', `signer ${signer.description} uses ${signer.algorithm}; native signature files hold Ed25519 signatures only`);
  }
  const why = checkPublicKeyBytes(signer.publicKey);
  if (why !== undefined) throw new MsSignError('SIGNER_FAILED', `signer ${signer.description} has an unusable Ed25519 public key: ${why}`);
  const keyId = keyIdBytes(signer.publicKey);
  if (!bytesEqual(fromHex(signer.keyId) ?? new Uint8Array(), keyId)) {
    throw new MsSignError('SIGNER_FAILED', `signer ${signer.description} claims key id ${signer.keyId}, but its public key has key id ${keyIdHex(signer.publicKey)}`);
  }
  return keyId;
}

/**
 * Asks `signer` to sign, then checks the signature with the signer's own public key (strict
 * Ed25519) before it is used: a broken or hostile signer throws SIGNER_FAILED and never yields
 * signature-file bytes.
 */
async function signPayload(payloadType: string, payload: Uint8Array, signer: Signer, hash: Sha512): Promise<EnvelopeSignature> {
  const keyId = checkSigner(signer);
  const message = signingMessage(payloadType, payload);
  let signature: Uint8Array;
  try {
    signature = await signer.sign(message);
  } catch (error) {
    if (error instanceof MsSignError) throw error;
    throw new MsSignError('SIGNER_FAILED', `signer ${signer.description} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (!(signature instanceof Uint8Array) || !verifyEd25519(signature, message, signer.publicKey, hash)) {
    throw new MsSignError('SIGNER_FAILED', `signer ${signer.description} returned a signature that does not verify under its public key ${signer.keyId}; nothing was written`);
  }
  return { keyId, signature: new Uint8Array(signature) };
}

/**
 * Encodes `manifest` and has each signer sign it: the bytes of a new signature file. Every
 * signature is verified with its signer's public key before the bytes are returned. `hash` is the
 * SHA-512 that check uses (pure by default; `nodeSha512` from `@ms-sign/core/node` is faster).
 */
export async function createSignatureFile(manifest: Manifest, signers: readonly Signer[], hash: Sha512 = pureSha512): Promise<Uint8Array> {
  if (signers.length === 0) throw new RangeError('signers: expected at least one signer');
  const payload = encodeManifest(manifest);
  const signatures: EnvelopeSignature[] = [];
  // One at a time: a hardware token or an external command may not take concurrent requests.
  for (const signer of signers) signatures.push(await signPayload(MANIFEST_PAYLOAD_TYPE, payload, signer, hash));
  return encodeEnvelope({ payloadType: MANIFEST_PAYLOAD_TYPE, payload, signatures });
}

/**
 * Co-signing: adds `signer`'s signature over the same payload bytes. The caller must first check
 * that the payload describes the model (re-hash and compare).
 */
export async function appendSignature(envelope: Envelope, signer: Signer, hash: Sha512 = pureSha512): Promise<Uint8Array> {
  const keyId = checkSigner(signer);
  if (envelope.signatures.some((s) => bytesEqual(s.keyId, keyId))) {
    throw new MsSignError('ALREADY_SIGNED', `the signature file already holds a signature by key ${signer.keyId}`);
  }
  if (envelope.signatures.length >= LIMITS.signatures) {
    throw new MsSignError('LIMIT_EXCEEDED', `a signature file holds at most ${LIMITS.signatures} signatures`);
  }
  const entry = await signPayload(envelope.payloadType, envelope.payload, signer, hash);
  return encodeEnvelope({ ...envelope, signatures: [...envelope.signatures, entry] });
}
