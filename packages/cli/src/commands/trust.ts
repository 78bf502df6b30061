import {
  compileTrustPolicy,
  EMPTY_POLICY_DOCUMENT,
  locateTrustPolicy,
  MsSignError,
  parseDate,
  parseDuration,
  publicKeyFromBytes,
  publicKeyToDocument,
  readTrustPolicyFile,
  writeTrustPolicyFile,
  checkGlob,
  type TrustPolicyDocument,
} from '@ms-sign/core';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { printable, writeLine, type CliIo } from '../io.js';
import { loadPublicKey } from '../keys.js';
import { printJson } from '../output.js';

interface TrustFileOptions {
  readonly trust?: string;
  readonly json?: boolean;
}

/** The policy file trust commands edit: -t, MS_SIGN_TRUST, or the first existing default. */
function policyPath(options: TrustFileOptions, io: CliIo, forInit: boolean): string {
  const found = locateTrustPolicy(options.trust, io.env, io.cwd, existsSync);
  if (found) return found.path;
  if (forInit) return resolve(io.cwd, '.ms-sign', 'trust.json');
  throw new MsSignError('BAD_TRUST_POLICY', 'no trust policy found; create one with "ms-sign trust init" (or give -t FILE)');
}

/** Applies an edit and writes the policy atomically, after checking the result is a valid policy. */
function edit(options: TrustFileOptions, io: CliIo, change: (doc: TrustPolicyDocument, path: string) => string): number {
  const path = policyPath(options, io, false);
  const { document } = readTrustPolicyFile(path);
  const summary = change(document, path);
  compileTrustPolicy(document, (field, message) => {
    throw new MsSignError('BAD_TRUST_POLICY', `refusing the change: ${field}: ${message}`, { path });
  });
  writeTrustPolicyFile(path, document, { overwrite: true });
  if (options.json) printJson(io, { ok: true, path, change: summary, errors: [] });
  else writeLine(io.stdout, `${summary} (${path})`);
  return 0;
}

export async function trustInit(options: TrustFileOptions, io: CliIo): Promise<number> {
  const path = policyPath(options, io, true);
  mkdirSync(dirname(path), { recursive: true });
  writeTrustPolicyFile(path, structuredClone(EMPTY_POLICY_DOCUMENT), { overwrite: false });
  if (options.json) printJson(io, { ok: true, path, errors: [] });
  else writeLine(io.stdout, `Created trust policy ${path}; add publishers with "ms-sign trust add NAME -p KEY.pub"`);
  return 0;
}

interface TrustAddOptions extends TrustFileOptions {
  readonly publicKey: string;
  readonly models: readonly string[];
  readonly notBefore?: string;
  readonly notAfter?: string;
}

export async function trustAdd(name: string, options: TrustAddOptions, io: CliIo): Promise<number> {
  const key = loadPublicKey(options.publicKey, io);
  for (const [flag, value] of [['--not-before', options.notBefore], ['--not-after', options.notAfter]] as const) {
    if (value !== undefined && parseDate(value) === undefined) throw new MsSignError('USAGE', `${flag} ${JSON.stringify(value)}: expected a date such as 2027-01-31 or 2027-01-31T12:00:00Z`);
  }
  for (const glob of options.models) {
    const why = checkGlob(glob);
    if (why) throw new MsSignError('USAGE', `--models ${JSON.stringify(glob)}: ${why}`);
  }
  return edit(options, io, (doc) => {
    const entry = {
      publicKey: publicKeyToDocument(publicKeyFromBytes(key.bytes)),
      ...(options.notBefore === undefined ? {} : { notBefore: options.notBefore }),
      ...(options.notAfter === undefined ? {} : { notAfter: options.notAfter }),
    };
    const existing = doc.publishers.find((p) => p.name === name);
    if (existing) {
      if (existing.keys.some((k) => k.publicKey === entry.publicKey)) throw new MsSignError('USAGE', `key ${key.keyId} is already listed for publisher ${name}`);
      existing.keys.push(entry);
      for (const glob of options.models) if (!existing.models.includes(glob)) existing.models.push(glob);
      return `Added key ${key.keyId} to publisher ${name}`;
    }
    doc.publishers.push({ name, models: options.models.length > 0 ? [...options.models] : ['**'], keys: [entry] });
    return `Added publisher ${name} with key ${key.keyId}, for models ${(options.models.length > 0 ? options.models : ['**']).join(', ')}`;
  });
}

export async function trustRemove(name: string, options: TrustFileOptions, io: CliIo): Promise<number> {
  return edit(options, io, (doc) => {
    const index = doc.publishers.findIndex((p) => p.name === name);
    if (index < 0) throw new MsSignError('USAGE', `no publisher named ${JSON.stringify(name)} (see "ms-sign trust list")`);
    doc.publishers.splice(index, 1);
    return `Removed publisher ${name}`;
  });
}

interface TrustRevokeOptions extends TrustFileOptions {
  readonly reason?: string;
}

export async function trustRevoke(keyId: string, options: TrustRevokeOptions, io: CliIo): Promise<number> {
  if (!/^[0-9a-f]{32}$/.test(keyId)) throw new MsSignError('USAGE', `key id ${JSON.stringify(keyId)}: expected 32 lower-case hex characters, as keygen, inspect and verify print`);
  return edit(options, io, (doc) => {
    if (doc.revoked.some((r) => r.keyId === keyId)) return `Key ${keyId} was already revoked`;
    doc.revoked.push({ keyId, revokedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), ...(options.reason === undefined ? {} : { reason: options.reason }) });
    return `Revoked key ${keyId}`;
  });
}

interface TrustRuleOptions extends TrustFileOptions {
  readonly threshold?: number;
  readonly maxAge?: string;
  readonly requireExpiry?: boolean;
}

export async function trustRule(glob: string, options: TrustRuleOptions, io: CliIo): Promise<number> {
  const why = checkGlob(glob);
  if (why) throw new MsSignError('USAGE', `rule pattern ${JSON.stringify(glob)}: ${why}`);
  if (options.threshold !== undefined && options.threshold < 1) throw new MsSignError('USAGE', '--threshold must be at least 1');
  if (options.maxAge !== undefined && parseDuration(options.maxAge) === undefined) throw new MsSignError('USAGE', `--max-age ${JSON.stringify(options.maxAge)}: expected a duration such as 90d, 12h or 2w`);
  return edit(options, io, (doc) => {
    let rule = doc.rules.find((r) => r.models === glob);
    if (!rule) {
      rule = { models: glob };
      doc.rules.push(rule);
    }
    if (options.threshold !== undefined) rule.threshold = options.threshold;
    if (options.maxAge !== undefined) rule.maxAge = options.maxAge;
    if (options.requireExpiry) rule.requireExpiry = true;
    return `Rule for "${glob}": threshold ${rule.threshold ?? 1}${rule.maxAge ? `, max age ${rule.maxAge}` : ''}${rule.requireExpiry ? ', expiry required' : ''}`;
  });
}

export async function trustList(options: TrustFileOptions, io: CliIo): Promise<number> {
  const path = policyPath(options, io, false);
  const { document, policy } = readTrustPolicyFile(path);
  const publishers = policy.publishers.map((p, i) => ({
    name: p.name,
    models: document.publishers[i]!.models,
    keys: p.keys.map((k, j) => ({
      keyId: k.publicKey.keyId,
      publicKey: document.publishers[i]!.keys[j]!.publicKey,
      notBefore: document.publishers[i]!.keys[j]!.notBefore ?? null,
      notAfter: document.publishers[i]!.keys[j]!.notAfter ?? null,
      revoked: policy.revoked.has(k.publicKey.keyId),
    })),
  }));
  if (options.json) {
    printJson(io, { ok: true, path, publishers, revoked: document.revoked, rules: document.rules, errors: [] });
    return 0;
  }
  const out = (line: string) => writeLine(io.stdout, line);
  out(`Trust policy ${path}`);
  out(publishers.length === 0 ? 'Publishers: none' : 'Publishers:');
  for (const p of publishers) {
    out(`  ${printable(p.name)}  models: ${p.models.map(printable).join(', ')}`);
    for (const k of p.keys) {
      const window = [k.notBefore ? `from ${k.notBefore}` : '', k.notAfter ? `until ${k.notAfter}` : ''].filter(Boolean).join(' ');
      out(`    key ${k.keyId}${window ? `  ${window}` : ''}${k.revoked ? '  REVOKED' : ''}`);
    }
  }
  out(document.revoked.length === 0 ? 'Revoked keys: none' : 'Revoked keys:');
  for (const r of document.revoked) out(`  ${r.keyId}${r.revokedAt ? `  ${r.revokedAt}` : ''}${r.reason ? `  ${printable(r.reason)}` : ''}`);
  out(document.rules.length === 0 ? 'Rules: none (every model: threshold 1)' : 'Rules (all matching rules apply; the strictest wins):');
  for (const r of document.rules) {
    out(`  "${printable(r.models)}"  threshold ${r.threshold ?? 1}${r.maxAge ? `, max age ${r.maxAge}` : ''}${r.requireExpiry ? ', expiry required' : ''}`);
  }
  return 0;
}
