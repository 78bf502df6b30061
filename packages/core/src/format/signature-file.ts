import { bytesEqual } from '../bytes.js';
import { keyIdBytes, signEd25519 } from '../crypto/ed25519.js';
import type { SecretKey } from '../crypto/keys.js';
import { MsSignError } from '../errors.js';
import { LIMITS } from '../limits.js';
import { encodeEnvelope, type Envelope, type EnvelopeSignature } from './envelope.js';
import { encodeManifest, type Manifest } from './manifest.js';
import { MANIFEST_PAYLOAD_TYPE, signingMessage } from './pae.js';

function signPayload(payloadType: string, payload: Uint8Array, key: SecretKey): EnvelopeSignature {
  return { keyId: keyIdBytes(key.publicKey.bytes), signature: signEd25519(signingMessage(payloadType, payload), key.seed) };
}

/** Encodes `manifest` and signs it with each key: the bytes of a new signature file. */
export function createSignatureFile(manifest: Manifest, keys: readonly SecretKey[]): Uint8Array {
  if (keys.length === 0) throw new RangeError('keys: expected at least one secret key');
  const payload = encodeManifest(manifest);
  return encodeEnvelope({
    payloadType: MANIFEST_PAYLOAD_TYPE,
    payload,
    signatures: keys.map((k) => signPayload(MANIFEST_PAYLOAD_TYPE, payload, k)),
  });
}

/**
 * Co-signing (`sign --append`): adds `key`'s signature over the same payload bytes. The caller
 * must first check that the payload describes the model (re-hash and compare).
 */
export function appendSignature(envelope: Envelope, key: SecretKey): Uint8Array {
  const keyId = keyIdBytes(key.publicKey.bytes);
  if (envelope.signatures.some((s) => bytesEqual(s.keyId, keyId))) {
    throw new MsSignError('ALREADY_SIGNED', `the signature file already holds a signature by key ${key.publicKey.keyId}`);
  }
  if (envelope.signatures.length >= LIMITS.signatures) {
    throw new MsSignError('LIMIT_EXCEEDED', `a signature file holds at most ${LIMITS.signatures} signatures`);
  }
  return encodeEnvelope({ ...envelope, signatures: [...envelope.signatures, signPayload(envelope.payloadType, envelope.payload, key)] });
}
