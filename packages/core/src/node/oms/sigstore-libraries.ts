import { createRequire } from 'node:module';

/**
 * The Sigstore libraries, loaded on first use instead of at import: they cost ~0.17 s of CPU to
 * load, and every process that imports `@ms-sign/core/node` (a native verify of a small model
 * included) would otherwise pay that although only OMS bundles with certificates or Sigstore
 * material need them. They are CommonJS, so `require` loads them synchronously where a check
 * needs them. (The one-file bundle turns `createRequire(import.meta.url)(X)` into `require(X)`.)
 */
type SigstoreCore = typeof import('@sigstore/core');
type SigstoreBundle = typeof import('@sigstore/bundle');
type SigstoreSpecs = typeof import('@sigstore/protobuf-specs');
type SigstoreVerify = typeof import('@sigstore/verify');

let core: SigstoreCore | undefined;
let bundle: SigstoreBundle | undefined;
let specs: SigstoreSpecs | undefined;
let verify: SigstoreVerify | undefined;

/** @sigstore/core: X.509 certificate parsing (extensions the node:crypto class does not expose). */
export function sigstoreCore(): SigstoreCore {
  return (core ??= createRequire(import.meta.url)('@sigstore/core') as SigstoreCore);
}

/** @sigstore/bundle: reading a Sigstore bundle's JSON. */
export function sigstoreBundle(): SigstoreBundle {
  return (bundle ??= createRequire(import.meta.url)('@sigstore/bundle') as SigstoreBundle);
}

/** @sigstore/protobuf-specs: reading a trusted root's JSON. */
export function sigstoreSpecs(): SigstoreSpecs {
  return (specs ??= createRequire(import.meta.url)('@sigstore/protobuf-specs') as SigstoreSpecs);
}

/** @sigstore/verify: the offline verifier of keyless bundles. */
export function sigstoreVerify(): SigstoreVerify {
  return (verify ??= createRequire(import.meta.url)('@sigstore/verify') as SigstoreVerify);
}
