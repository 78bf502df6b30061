import { createHash, randomBytes } from 'node:crypto';
import { bytesEqual, toHex } from '../../bytes.js';
import { ecdsaRawToDer, P256_EC_PARAMS, p256PublicKeyInfo } from '../../crypto/ecdsa.js';
import { checkPublicKeyBytes, keyIdHex, PUBLIC_KEY_BYTES } from '../../crypto/ed25519.js';
import { formatPkcs11Id, type Pkcs11Uri } from '../../crypto/pkcs11-uri.js';
import type { Signer } from '../../crypto/signer.js';
import { MsSignError, type ErrorCode } from '../../errors.js';

// The binding is loaded only when a token is used (see loadBinding): its types, not its code.
type Binding = typeof import('pkcs11js');
type Pkcs11 = InstanceType<Binding['PKCS11']>;
type Handle = Buffer;

/**
 * PKCS#11 constants ms-sign needs that pkcs11js 2.1.7 does not export (PKCS#11 3.0, section 2.3.5
 * and 6.3): the Edwards-curve key type and mechanisms. The values are the standard's.
 */
const CKK_EC_EDWARDS = 0x40;
const CKM_EC_EDWARDS_KEY_PAIR_GEN = 0x1055;
const CKM_EDDSA = 0x1057;
/** RFC 8410's id-Ed25519 as CKA_EC_PARAMS (PKCS#11 3.0 accepts the OID or the curve name). */
const ED25519_EC_PARAMS = Uint8Array.of(0x06, 0x03, 0x2b, 0x65, 0x70);
const P256_SIGNATURE_BYTES = 64;

/** Where the PIN comes from; called only if the token asks for a login. */
export type PinProvider = () => Promise<string> | string;

export interface Pkcs11Options {
  /** The module library (the URI's module-path wins). */
  readonly modulePath?: string | undefined;
  /** The PIN; the URI's pin-value wins. Without either, a token that needs a login is an error. */
  readonly pin?: PinProvider | undefined;
}

/** A Signer backed by a key on a token; `close()` logs out and unloads the module. */
export interface Pkcs11Signer extends Signer {
  close(): void;
}

/**
 * Opens the key the URI names (a private key found by `object=` label and/or `id=`), reads its
 * public key from the token, and returns a Signer that signs on the token: Ed25519 keys with
 * CKM_EDDSA, P-256 keys with CKM_ECDSA over SHA-256 (DER signature, for the OMS format).
 *
 * The key id is the one ms-sign gives any key: for Ed25519 the first 16 bytes of SHA-256 of the
 * raw 32-byte key; for ECDSA the same over the DER SubjectPublicKeyInfo.
 */
export async function openPkcs11Signer(uri: Pkcs11Uri, options: Pkcs11Options = {}): Promise<Pkcs11Signer> {
  if (uri.object === undefined && uri.id === undefined) {
    throw new MsSignError('USAGE', `PKCS#11 URI ${uri.redacted} names no key: add object=LABEL or id=HEX`);
  }
  const token = await openToken(uri, options, false);
  try {
    const key = findOne(token, { class: 'private', uri });
    if (key === undefined) throw new MsSignError('PKCS11_NOT_FOUND', `no private key ${describeObject(uri)} on token ${token.label}`);
    const { pkcs11: p, lib, session, mechanisms } = token;
    const attrs = getAttributes(token, key, [p.CKA_KEY_TYPE, p.CKA_SIGN, p.CKA_ID, p.CKA_LABEL, p.CKA_ALWAYS_AUTHENTICATE]);
    const keyType = readUlong(attrs.get(p.CKA_KEY_TYPE));
    if (readBool(attrs.get(p.CKA_SIGN)) === false) {
      throw new MsSignError('PKCS11_UNSUPPORTED_KEY', `key ${describeObject(uri)} on token ${token.label} may not sign (CKA_SIGN is false)`);
    }
    const alwaysAuthenticate = readBool(attrs.get(p.CKA_ALWAYS_AUTHENTICATE)) === true;
    const publicInfo = readPublicKey(token, attrs.get(p.CKA_ID), attrs.get(p.CKA_LABEL), keyType, uri);
    const mechanism = publicInfo.algorithm === 'ed25519' ? CKM_EDDSA : p.CKM_ECDSA;
    if (!mechanisms.has(mechanism)) {
      throw new MsSignError(
        'PKCS11_UNSUPPORTED_KEY',
        `token ${token.label} does not offer ${publicInfo.algorithm === 'ed25519' ? 'CKM_EDDSA' : 'CKM_ECDSA'}, which signing with key ${describeObject(uri)} needs`,
      );
    }
    const description = uri.redacted;
    return {
      algorithm: publicInfo.algorithm,
      keyId: keyIdHex(publicInfo.publicKey),
      publicKey: publicInfo.publicKey,
      description,
      async sign(message: Uint8Array): Promise<Uint8Array> {
        const input = publicInfo.algorithm === 'ed25519' ? message : createHash('sha256').update(message).digest();
        const raw = await tokenCall(token, 'sign', async () => {
          lib.C_SignInit(session, { mechanism }, key);
          // Keys such as a PIV card's signature key want the PIN again for every signature.
          if (alwaysAuthenticate) lib.C_Login(session, p.CKU_CONTEXT_SPECIFIC, await token.pin());
          return lib.C_Sign(session, Buffer.from(input), Buffer.alloc(publicInfo.algorithm === 'ed25519' ? 64 : P256_SIGNATURE_BYTES));
        });
        return publicInfo.algorithm === 'ed25519' ? new Uint8Array(raw) : ecdsaRawToDer(new Uint8Array(raw));
      },
      close: () => token.close(),
    };
  } catch (error) {
    token.close();
    throw error;
  }
}

export interface GeneratedPkcs11Key {
  /** Raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
  readonly keyId: string;
  /** CKA_ID given to both halves of the pair. */
  readonly id: Uint8Array;
  /** The URI of the new key, without PIN. */
  readonly uri: string;
}

/**
 * Creates an Ed25519 key pair on the token (CKM_EC_EDWARDS_KEY_PAIR_GEN). The private key is
 * sensitive and not extractable: it never leaves the token. The pair is labelled with the URI's
 * `object=` and gets its `id=` or 16 random bytes as CKA_ID. An existing key with that label or
 * id is an error, so keygen never shadows a key that releases were signed with.
 */
export async function generatePkcs11Ed25519Key(uri: Pkcs11Uri, options: Pkcs11Options = {}): Promise<GeneratedPkcs11Key> {
  if (uri.object === undefined) throw new MsSignError('USAGE', `PKCS#11 URI ${uri.redacted}: a new key needs a label (object=LABEL)`);
  const token = await openToken(uri, options, true);
  try {
    const { pkcs11: p, lib, session } = token;
    if (!token.mechanisms.has(CKM_EC_EDWARDS_KEY_PAIR_GEN) || !token.mechanisms.has(CKM_EDDSA)) {
      throw new MsSignError('PKCS11_UNSUPPORTED_KEY', `token ${token.label} cannot make or use Ed25519 keys (no CKM_EC_EDWARDS_KEY_PAIR_GEN or CKM_EDDSA)`);
    }
    for (const cls of ['private', 'public'] as const) {
      for (const by of [{ object: uri.object }, ...(uri.id ? [{ id: uri.id }] : [])]) {
        if (findOne(token, { class: cls, uri: { ...by, redacted: uri.redacted } }, true) !== undefined) {
          throw new MsSignError('PKCS11_OBJECT_EXISTS', `token ${token.label} already holds a key ${by.object !== undefined ? `labelled ${JSON.stringify(by.object)}` : `with id ${formatPkcs11Id(by.id!)}`}; nothing was created`);
        }
      }
    }
    const id = uri.id ?? new Uint8Array(randomBytes(16));
    const common = [
      { type: p.CKA_TOKEN, value: true },
      { type: p.CKA_LABEL, value: uri.object },
      { type: p.CKA_ID, value: Buffer.from(id) },
    ];
    const pair = await tokenCall(token, 'generate a key pair', () =>
      lib.C_GenerateKeyPair(
        session,
        { mechanism: CKM_EC_EDWARDS_KEY_PAIR_GEN },
        [...common, { type: p.CKA_VERIFY, value: true }, { type: p.CKA_EC_PARAMS, value: Buffer.from(ED25519_EC_PARAMS) }],
        [
          ...common,
          { type: p.CKA_SIGN, value: true },
          { type: p.CKA_PRIVATE, value: true },
          // The point of a token: the secret key can be used there and never read out.
          { type: p.CKA_SENSITIVE, value: true },
          { type: p.CKA_EXTRACTABLE, value: false },
        ],
      ),
    );
    const point = getAttributes(token, pair.publicKey, [p.CKA_EC_POINT]).get(p.CKA_EC_POINT);
    const publicKey = ed25519FromEcPoint(point);
    if (publicKey === undefined) {
      throw new MsSignError('PKCS11_ERROR', `token ${token.label} made a key pair whose public key is not a valid Ed25519 key`);
    }
    const path = uri.redacted.split('?')[0]!;
    return {
      publicKey,
      keyId: keyIdHex(publicKey),
      id,
      uri: uri.id === undefined ? `${path};id=${formatPkcs11Id(id)}` : path,
    };
  } finally {
    token.close();
  }
}

interface OpenToken {
  readonly pkcs11: Binding;
  readonly lib: Pkcs11;
  readonly session: Handle;
  /** The token's label, quoted, for messages. */
  readonly label: string;
  readonly mechanisms: ReadonlySet<number>;
  /** The PIN that logged in (asked once). */
  pin(): Promise<string>;
  close(): void;
}

/** Loads the binding and the module, finds the one token the URI names, opens a session and logs in. */
async function openToken(uri: Pkcs11Uri, options: Pkcs11Options, write: boolean): Promise<OpenToken> {
  if (uri.moduleName !== undefined && uri.modulePath === undefined) {
    throw new MsSignError('USAGE', `PKCS#11 URI ${uri.redacted}: module-name is not supported; give the library's file as module-path`);
  }
  const modulePath = uri.modulePath ?? options.modulePath;
  if (modulePath === undefined || modulePath === '') throw new MsSignError('PKCS11_UNAVAILABLE', 'no PKCS#11 module library given');
  const p = await loadBinding();
  const module = acquireModule(p, modulePath);
  const lib = module.lib;
  let session: Handle | undefined;
  let loggedIn = false;
  let released = false;
  const close = () => {
    if (released) return;
    released = true;
    // Best effort, in order: a failure here must not hide the error that led to it.
    const steps = [() => loggedIn && lib.C_Logout(session!), () => session && lib.C_CloseSession(session), () => module.release()];
    for (const step of steps) {
      try {
        step();
      } catch {
        // ignored: see above
      }
    }
  };
  try {
    const slot = findSlot(p, lib, uri);
    const info = lib.C_GetTokenInfo(slot);
    const label = JSON.stringify(info.label.trimEnd());
    const mechanisms = new Set(lib.C_GetMechanismList(slot));
    session = lib.C_OpenSession(slot, p.CKF_SERIAL_SESSION | (write ? p.CKF_RW_SESSION : 0));
    let pinValue: string | undefined;
    const pin = async (): Promise<string> => {
      if (pinValue !== undefined) return pinValue;
      const fromProvider = uri.pinValue ?? (options.pin ? await options.pin() : undefined);
      if (fromProvider === undefined) throw new MsSignError('PKCS11_LOGIN_FAILED', `token ${label} needs a PIN and none was given`);
      pinValue = fromProvider;
      return pinValue;
    };
    if ((info.flags & p.CKF_LOGIN_REQUIRED) !== 0 || uri.pinValue !== undefined) {
      const value = await pin();
      try {
        lib.C_Login(session, p.CKU_USER, value);
        loggedIn = true;
      } catch (error) {
        // Logged in by another session of this process: not ours to end.
        if (ckrName(error) === 'CKR_USER_ALREADY_LOGGED_IN') loggedIn = false;
        // The message names the token and the PKCS#11 code, never the PIN.
        else throw pkcs11Failure(error, `token ${label} refused the login`);
      }
    }
    const openSession = session;
    return { pkcs11: p, lib, session: openSession, label, mechanisms, pin, close };
  } catch (error) {
    close();
    throw error;
  }
}

interface LoadedModule {
  readonly lib: Pkcs11;
  release(): void;
}

/**
 * Modules loaded in this process, by path. C_Initialize and C_Finalize act on the whole module,
 * not on one caller: two signers on one module (co-signing with two keys of a token) share it,
 * and the last one to close finalises it.
 */
const loadedModules = new Map<string, { lib: Pkcs11; users: number; finalize: boolean }>();

function acquireModule(p: Binding, modulePath: string): LoadedModule {
  let entry = loadedModules.get(modulePath);
  if (entry === undefined) {
    const lib = new p.PKCS11();
    try {
      lib.load(modulePath);
    } catch (error) {
      throw new MsSignError('PKCS11_UNAVAILABLE', `cannot load the PKCS#11 module ${modulePath}: ${errorText(error)}`, { cause: error });
    }
    let finalize = true;
    try {
      lib.C_Initialize();
    } catch (error) {
      // Initialised by other code in this process: use it, and leave finalising to that code.
      if (ckrName(error) === 'CKR_CRYPTOKI_ALREADY_INITIALIZED') finalize = false;
      else {
        try {
          lib.close();
        } catch {
          // the initialisation error below is the one to report
        }
        throw pkcs11Failure(error, `cannot initialise the PKCS#11 module ${modulePath}`);
      }
    }
    entry = { lib, users: 0, finalize };
    loadedModules.set(modulePath, entry);
  }
  entry.users++;
  const current = entry;
  let released = false;
  return {
    lib: current.lib,
    release() {
      if (released) return;
      released = true;
      if (--current.users > 0) return;
      loadedModules.delete(modulePath);
      try {
        if (current.finalize) current.lib.C_Finalize();
      } finally {
        current.lib.close();
      }
    },
  };
}

let bindingPromise: Promise<Binding> | undefined;

/**
 * Loads pkcs11js on first use. It is a native addon built at install time: CLI start-up and
 * users without a token never load it, and a failed build breaks only PKCS#11, with this message.
 */
async function loadBinding(): Promise<Binding> {
  bindingPromise ??= import('pkcs11js').then(
    (module) => ((module as { default?: Binding }).default ?? module) as Binding,
    (error: unknown) => {
      bindingPromise = undefined;
      throw new MsSignError(
        'PKCS11_UNAVAILABLE',
        `the PKCS#11 binding (pkcs11js, a native addon built when ms-sign is installed) cannot be loaded: ${errorText(error)}`,
        { cause: error },
      );
    },
  );
  return bindingPromise;
}

/** At most this many slots are looked at; real modules report a handful. */
const MAX_SLOTS = 1024;

function findSlot(p: Binding, lib: Pkcs11, uri: Pkcs11Uri): Handle {
  const slots = lib.C_GetSlotList(true);
  const matches: Handle[] = [];
  const seen: string[] = [];
  for (const slot of slots.slice(0, MAX_SLOTS)) {
    const token = lib.C_GetTokenInfo(slot);
    if ((token.flags & p.CKF_TOKEN_INITIALIZED) === 0) continue;
    const slotInfo = uri.slotDescription !== undefined || uri.slotManufacturer !== undefined ? lib.C_GetSlotInfo(slot) : undefined;
    seen.push(JSON.stringify(token.label.trimEnd()));
    const ok =
      same(uri.token, token.label) &&
      same(uri.manufacturer, token.manufacturerID) &&
      same(uri.model, token.model) &&
      same(uri.serial, token.serialNumber) &&
      same(uri.slotDescription, slotInfo?.slotDescription) &&
      same(uri.slotManufacturer, slotInfo?.manufacturerID) &&
      (uri.slotId === undefined || readUlongBig(slot) === uri.slotId);
    if (ok) matches.push(slot);
  }
  if (matches.length === 0) {
    throw new MsSignError('PKCS11_NOT_FOUND', `no token matches ${uri.redacted} (tokens present: ${seen.length === 0 ? 'none' : seen.join(', ')})`);
  }
  if (matches.length > 1) {
    throw new MsSignError('USAGE', `${matches.length} tokens match ${uri.redacted} (${seen.join(', ')}); name one with token= or serial=`);
  }
  return matches[0]!;
}

/** CK_TOKEN_INFO strings are blank-padded to a fixed width (PKCS#11 section 3.2). */
function same(wanted: string | undefined, padded: string | undefined): boolean {
  return wanted === undefined || (padded !== undefined && padded.trimEnd() === wanted);
}

interface ObjectQuery {
  readonly class: 'private' | 'public';
  readonly uri: Pick<Pkcs11Uri, 'object' | 'id' | 'redacted'>;
}

/**
 * The one object matching the query, or undefined. Two matches are an error unless `any`: the
 * URI must say which key signs, never leave it to the token's order.
 */
function findOne(token: OpenToken, query: ObjectQuery, any = false): Handle | undefined {
  const { pkcs11: p, lib, session } = token;
  const template: { type: number; value: number | string | Buffer }[] = [
    { type: p.CKA_CLASS, value: query.class === 'private' ? p.CKO_PRIVATE_KEY : p.CKO_PUBLIC_KEY },
  ];
  if (query.uri.object !== undefined) template.push({ type: p.CKA_LABEL, value: query.uri.object });
  if (query.uri.id !== undefined) template.push({ type: p.CKA_ID, value: Buffer.from(query.uri.id) });
  lib.C_FindObjectsInit(session, template);
  let found: Handle[];
  try {
    found = lib.C_FindObjects(session, 2);
  } finally {
    lib.C_FindObjectsFinal(session);
  }
  if (found.length > 1 && !any) {
    throw new MsSignError('USAGE', `more than one ${query.class} key ${describeObject(query.uri)} on token ${token.label}; name one with id=`);
  }
  return found[0];
}

function describeObject(uri: Pick<Pkcs11Uri, 'object' | 'id'>): string {
  const parts = [];
  if (uri.object !== undefined) parts.push(`object=${JSON.stringify(uri.object)}`);
  if (uri.id !== undefined) parts.push(`id=${formatPkcs11Id(uri.id)}`);
  return parts.join(' ');
}

/** Reads attributes one by one: a token answers CKR_ATTRIBUTE_TYPE_INVALID for any it lacks. */
function getAttributes(token: OpenToken, object: Handle, types: readonly number[]): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  for (const type of types) {
    try {
      const [attr] = token.lib.C_GetAttributeValue(token.session, object, [{ type }]);
      if (attr?.value instanceof Buffer) out.set(type, attr.value);
    } catch {
      // absent or sensitive: the caller decides what a missing attribute means
    }
  }
  return out;
}

interface PublicKeyInfo {
  readonly algorithm: 'ed25519' | 'ecdsa-p256-sha256';
  /** Ed25519: raw 32 bytes; P-256: DER SubjectPublicKeyInfo. */
  readonly publicKey: Uint8Array;
}

/** The public half of `key`: the public key object with the same CKA_ID (else label). */
function readPublicKey(token: OpenToken, id: Buffer | undefined, label: Buffer | undefined, keyType: number | undefined, uri: Pkcs11Uri): PublicKeyInfo {
  const p = token.pkcs11;
  const what = `key ${describeObject(uri)} on token ${token.label}`;
  if (keyType !== CKK_EC_EDWARDS && keyType !== p.CKK_EC) {
    throw new MsSignError('PKCS11_UNSUPPORTED_KEY', `${what} is of key type ${keyTypeName(p, keyType)}; ms-sign signs with Ed25519 or ECDSA P-256 keys`);
  }
  // Without an id or a label to pair them by, any public key on the token would match.
  const sameKey = id !== undefined && id.length > 0 ? { id: new Uint8Array(id) } : label !== undefined && label.length > 0 ? { object: label.toString('utf8') } : undefined;
  const publicObject = sameKey && findOne(token, { class: 'public', uri: { ...sameKey, redacted: uri.redacted } }, true);
  if (publicObject === undefined) throw new MsSignError('PKCS11_NOT_FOUND', `${what} has no public key object beside it (same CKA_ID or label)`);
  const attrs = getAttributes(token, publicObject, [p.CKA_EC_POINT, p.CKA_EC_PARAMS]);
  if (keyType === CKK_EC_EDWARDS) {
    const params = attrs.get(p.CKA_EC_PARAMS);
    // Ed448 is also CKK_EC_EDWARDS; its OID is 1.3.101.113, its curve name "edwards448".
    if (params !== undefined && !bytesEqual(params, ED25519_EC_PARAMS) && !params.toString('latin1').includes('edwards25519')) {
      throw new MsSignError('PKCS11_UNSUPPORTED_KEY', `${what} is an Edwards-curve key on another curve than Ed25519`);
    }
    const publicKey = ed25519FromEcPoint(attrs.get(p.CKA_EC_POINT));
    if (publicKey === undefined) throw new MsSignError('PKCS11_UNSUPPORTED_KEY', `${what}: its public key is not a valid Ed25519 key`);
    return { algorithm: 'ed25519', publicKey };
  }
  const params = attrs.get(p.CKA_EC_PARAMS);
  if (params === undefined || !bytesEqual(params, P256_EC_PARAMS)) {
    throw new MsSignError('PKCS11_UNSUPPORTED_KEY', `${what} is an EC key on a curve other than P-256 (CKA_EC_PARAMS ${params ? toHex(params) : 'absent'})`);
  }
  const spki = p256PublicKeyInfo(unwrapOctetString(attrs.get(p.CKA_EC_POINT)) ?? new Uint8Array());
  if (spki === undefined) throw new MsSignError('PKCS11_UNSUPPORTED_KEY', `${what}: its public point is not an uncompressed P-256 point`);
  return { algorithm: 'ecdsa-p256-sha256', publicKey: spki };
}

/**
 * CKA_EC_POINT of an Ed25519 key: PKCS#11 3.0 says the raw 32 bytes, but SoftHSM and others wrap
 * them in a DER OCTET STRING (04 20 ...); both are read, and the key is checked as any other.
 */
function ed25519FromEcPoint(point: Buffer | undefined): Uint8Array | undefined {
  if (point === undefined) return undefined;
  const raw = point.length === PUBLIC_KEY_BYTES ? new Uint8Array(point) : unwrapOctetString(point);
  if (raw === undefined || checkPublicKeyBytes(raw) !== undefined) return undefined;
  return raw;
}

/** The contents of a short-form DER OCTET STRING, or undefined. */
function unwrapOctetString(bytes: Buffer | undefined): Uint8Array | undefined {
  if (bytes === undefined || bytes.length < 2 || bytes[0] !== 0x04) return undefined;
  if (bytes[1]! < 0x80) return bytes[1] === bytes.length - 2 ? new Uint8Array(bytes.subarray(2)) : undefined;
  if (bytes[1] === 0x81) return bytes[2] === bytes.length - 3 ? new Uint8Array(bytes.subarray(3)) : undefined;
  return undefined;
}

/** CK_ULONG and CK_BBOOL attribute values as pkcs11js returns them (native byte order). */
function readUlong(value: Buffer | undefined): number | undefined {
  if (value === undefined || value.length === 0) return undefined;
  return Number(readUlongBig(value));
}

function readUlongBig(value: Buffer): bigint {
  if (value.length === 8) return value.readBigUInt64LE(0);
  if (value.length === 4) return BigInt(value.readUInt32LE(0));
  return BigInt(value[0] ?? 0);
}

function readBool(value: Buffer | undefined): boolean | undefined {
  return value === undefined || value.length === 0 ? undefined : value[0] !== 0;
}

function keyTypeName(p: Binding, keyType: number | undefined): string {
  if (keyType === undefined) return 'unknown';
  const names: Record<number, string> = { [p.CKK_RSA]: 'RSA (CKK_RSA)', [p.CKK_EC]: 'EC (CKK_EC)', [p.CKK_DSA]: 'DSA (CKK_DSA)' };
  return names[keyType] ?? `0x${keyType.toString(16)}`;
}

/** Runs one token operation, turning PKCS#11 errors into MsSignError. */
async function tokenCall<T>(token: OpenToken, what: string, call: () => T | Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof MsSignError) throw error;
    throw pkcs11Failure(error, `token ${token.label} could not ${what}`);
  }
}

const LOGIN_FAILURES = new Set(['CKR_PIN_INCORRECT', 'CKR_PIN_LOCKED', 'CKR_PIN_EXPIRED', 'CKR_PIN_INVALID', 'CKR_PIN_LEN_RANGE', 'CKR_USER_NOT_LOGGED_IN']);

function pkcs11Failure(error: unknown, context: string): MsSignError {
  const name = ckrName(error);
  const code: ErrorCode = name !== undefined && LOGIN_FAILURES.has(name) ? 'PKCS11_LOGIN_FAILED' : 'PKCS11_ERROR';
  return new MsSignError(code, `${context}: ${name ?? errorText(error)}`, { cause: error });
}

/** pkcs11js reports a PKCS#11 return value as an error whose message is its CKR_ name. */
function ckrName(error: unknown): string | undefined {
  const message = error instanceof Error ? error.message : '';
  return /^CKR_[A-Z_]+$/.test(message) ? message : undefined;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0]! : String(error);
}
