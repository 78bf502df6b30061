import type { SignatureFormat } from '../verify/format.js';
import { NATIVE_FORMAT } from '../verify/native-format.js';
import { OMS_FORMAT } from './oms/format.js';

/**
 * Every signature format this build reads: the pure core's (native CBOR) and those that need
 * node:crypto (OMS / model_signing bundles: ECDSA, X.509 chains, Sigstore). verify, inspect and
 * sign --append detect the format of a signature file among these.
 */
export const ALL_SIGNATURE_FORMATS: readonly SignatureFormat[] = [NATIVE_FORMAT, OMS_FORMAT];
