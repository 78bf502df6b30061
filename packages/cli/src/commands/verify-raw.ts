import { MsSignError, verifyEd25519 } from '@ms-sign/core';
import { nodeEd25519Equation, nodeSha512 } from '@ms-sign/core/node';
import { exitCodeFor } from '../exit-codes.js';
import { writeLine, type CliIo } from '../io.js';

function hexArgument(text: string, what: string): Uint8Array {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(text)) throw new MsSignError('USAGE', `${what} must be hex (an even number of 0-9a-f digits)`);
  return new Uint8Array(Buffer.from(text, 'hex'));
}

/**
 * `ms-sign verify-raw PUBLIC_KEY MESSAGE SIGNATURE` (hex; hidden): one Ed25519 verification with
 * exactly the rules verify applies to a signature file, for the conformance suite's vectors
 * (conformance/README.md). Exit 0: valid; 1: invalid (BAD_SIGNATURE); 2: an argument is not hex.
 */
export async function verifyRawCommand(publicKeyHex: string, messageHex: string, signatureHex: string, _options: object, io: CliIo): Promise<number> {
  try {
    const publicKey = hexArgument(publicKeyHex, 'PUBLIC_KEY');
    const message = hexArgument(messageHex, 'MESSAGE');
    const signature = hexArgument(signatureHex, 'SIGNATURE');
    if (verifyEd25519(signature, message, publicKey, nodeSha512, nodeEd25519Equation)) {
      writeLine(io.stdout, 'valid');
      return 0;
    }
    writeLine(io.stdout, 'invalid');
    return exitCodeFor([{ code: 'BAD_SIGNATURE' }]);
  } catch (error) {
    if (!(error instanceof MsSignError)) throw error;
    writeLine(io.stderr, `ms-sign: ${error.message}`);
    return exitCodeFor([error]);
  }
}
