import { Command, CommanderError, Option } from 'commander';
import { MsSignError, toProblem, type Problem } from '@ms-sign/core';
import { exitCodeFor } from './exit-codes.js';
import { writeLine, type CliIo } from './io.js';
import { printProblems } from './output.js';

const collect = (value: string, previous: string[]) => [...previous, value];

/**
 * Wires commander to the commands. Each action imports its command module lazily and returns an
 * exit code; errors thrown by commands become exit codes in exactly one place (exitCodeFor).
 */
export async function runProgram(argv: readonly string[], io: CliIo, version: string): Promise<number> {
  let exitCode = 0;
  // Only ms-sign's own arguments: after "--" they belong to exec's CMD.
  const dashes = argv.indexOf('--');
  const wantsJson = (dashes < 0 ? argv : argv.slice(0, dashes)).includes('--json');
  const program = new Command()
    .name('ms-sign')
    .description('Sign model files and refuse to load them unless a trusted publisher released exactly these bytes.')
    .version(version, '-V, --version')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      // Usage errors are reported below (also as JSON with --json), not by commander itself.
      writeErr: () => undefined,
    })
    .showSuggestionAfterError(true)
    .allowExcessArguments(false);

  const run = (load: () => Promise<(...args: never[]) => Promise<number>>) =>
    async (...args: unknown[]) => {
      const command = await load();
      exitCode = await (command as (...a: unknown[]) => Promise<number>)(...args.slice(0, -1), io);
    };

  program
    .command('keygen')
    .description('make a new Ed25519 key pair: PREFIX.key (secret, mode 0600) and PREFIX.pub')
    .option('-o, --output <prefix>', 'path prefix of the key files', 'ms-sign')
    .option('--no-passphrase', 'do not encrypt the secret key (else: MS_SIGN_PASSPHRASE or a prompt)')
    .option('--force', 'replace existing key files')
    .option('--pkcs11 <uri>', 'make the key pair on a PKCS#11 token (pkcs11:token=...;object=LABEL); writes only PREFIX.pub')
    .option('--json', 'print one JSON object on stdout')
    .action(run(async () => (await import('./commands/keygen.js')).keygenCommand));

  program
    .command('sign')
    .description('hash MODEL (a file or directory) and write its signature file')
    .argument('<model>', 'model file or directory')
    .option('-k, --key <file>', 'secret key file (else the key text in MS_SIGN_KEY)')
    .option('--pkcs11 <uri>', 'sign with a key on a PKCS#11 token: pkcs11:token=...;object=... (docs/signers.md)')
    .option('--signer-cmd <cmd>', 'sign by running CMD: message on its stdin, raw signature on its stdout (else MS_SIGN_SIGNER_CMD)')
    .option('-p, --public-key <file>', "the signing command's public key; every signature is checked against it")
    .addOption(new Option('--signer-timeout <seconds>', 'time the signing command has (default: 60)').argParser(parseInteger))
    .option('-o, --output <sig>', 'signature file to write (default: MODEL.sig)')
    .option('--name <name>', 'model name policies match on (default: the file or directory name)')
    .option('--model-version <version>', 'model version, for rollback protection')
    .option('-a, --annotation <key=value>', 'annotation to record, e.g. -a commit=abc123 (repeatable)', collect, [])
    .option('--ignore <glob>', 'leave out matching files of a directory; recorded and applied on verify (repeatable)', collect, [])
    .addOption(new Option('--hash <algorithm>', 'hash algorithm').choices(['sha256', 'sha512']).default('sha256'))
    .option('--expires <when>', 'expiry: a duration from now (90d, 12h, 2w) or a date (2027-01-31)')
    .option('--append', 'add a signature to the existing signature file (co-signing) after checking the model matches')
    .addOption(new Option('--scan <mode>', 'scan before signing: off, no-unsafe (refuse unsafe or malformed files) or clean (also unknown formats)').choices(['off', 'no-unsafe', 'clean']))
    .option('--allow-unsafe', 'sign even if the scan refuses the model (its findings are printed)')
    .addOption(new Option('--shard-size <bytes>', 'shard size in bytes, a power of two (advanced)').argParser(parseInteger).hideHelp())
    .addOption(new Option('--threads <n>', 'hashing threads (default: one per core)').argParser(parseInteger).hideHelp())
    .option('--json', 'print one JSON object on stdout')
    .action(run(async () => (await import('./commands/sign.js')).signCommand));

  const verifyOptions = (command: Command) =>
    command
      .option('-s, --signature <sig>', 'signature file (default: MODEL.sig)')
      .option('-p, --public-key <file>', "trust this publisher's public key (repeatable; replaces the trust policy)", collect, [])
      .option('-t, --trust <file>', 'trust policy file (else MS_SIGN_TRUST, ./.ms-sign/trust.json, $XDG_CONFIG_HOME/ms-sign/trust.json)')
      .option('--name <name>', 'refuse a model signed under another name')
      .option('--state <file>', 'rollback protection: refuse models older than those seen before, record newer ones')
      .option('--allow-rollback', 'accept an older model this once (with --state)')
      .option('--fail-fast', 'stop at the first problem instead of reporting all')
      .option('--json', 'print one JSON object on stdout')
      .option('-q, --quiet', 'print nothing on success')
      .addOption(new Option('--scan <mode>', 'scan of the verified bytes: off, no-unsafe (refuse unsafe or malformed files) or clean (also unknown formats); may only tighten what the trust policy sets').choices(['off', 'no-unsafe', 'clean']))
      .addOption(new Option('--threads <n>', 'hashing threads (default: one per core)').argParser(parseInteger).hideHelp());

  verifyOptions(
    program
      .command('verify')
      .description('verify MODEL against its signature file and the trust anchors; exit 0 only if it may be loaded')
      .argument('<model>', 'model file or directory'),
  )
    .option('--output <file>', 'write the verified bytes of a single-file model to FILE, or - for stdout (only after success)')
    .action(run(async () => (await import('./commands/verify.js')).verifyCommand));

  program
    .command('scan')
    .description('check that each file of MODEL is a valid model format that cannot run code or drive its loader out of bounds')
    .argument('<model>', 'model file or directory')
    .addOption(new Option('--mode <mode>', 'no-unsafe: fail on unsafe or malformed files; clean: also on files of unknown format').choices(['no-unsafe', 'clean']).default('no-unsafe'))
    .option('--ignore <glob>', 'leave out matching files of a directory (repeatable)', collect, [])
    .option('--allow-global <module:qualname>', 'also allow this pickle global (repeatable)', collect, [])
    .option('--json', 'print one JSON object on stdout')
    .option('-q, --quiet', 'print nothing on success')
    .action(run(async () => (await import('./commands/scan.js')).scanCommand));

  program
    .command('inspect')
    .description('show what a signature file says, WITHOUT verifying it')
    .argument('<sig>', 'signature file')
    .option('--json', 'print one JSON object on stdout')
    .action(run(async () => (await import('./commands/inspect.js')).inspectCommand));

  // Hidden: one raw Ed25519 verification, for the conformance suite's vectors (conformance/README.md).
  program
    .command('verify-raw', { hidden: true })
    .description('verify one Ed25519 signature given as hex, with the rules verify applies')
    .argument('<public-key>', 'public key, 32 bytes in hex')
    .argument('<message>', 'message in hex (may be empty)')
    .argument('<signature>', 'signature, 64 bytes in hex')
    .action(run(async () => (await import('./commands/verify-raw.js')).verifyRawCommand));

  verifyOptions(
    program
      .command('exec')
      .description('run CMD only if MODEL verifies; {} in ARGS becomes the path to load')
      .argument('<model>', 'model file or directory')
      .argument('<cmd...>', 'command to run, after --'),
  )
    .option('--copy', 'give CMD a private read-only copy of exactly the verified bytes (removed afterwards)')
    .action(run(async () => (await import('./commands/exec.js')).execCommand));

  const trust = program.command('trust').description('manage the trust policy (whom to trust for which models)');
  const trustFile = (command: Command) =>
    command
      .option('-t, --trust <file>', 'trust policy file (else MS_SIGN_TRUST, ./.ms-sign/trust.json, $XDG_CONFIG_HOME/ms-sign/trust.json)')
      .option('--json', 'print one JSON object on stdout');
  trustFile(trust.command('init').description('create an empty trust policy (never overwrites one)')).action(
    run(async () => (await import('./commands/trust.js')).trustInit),
  );
  trustFile(
    trust
      .command('add')
      .description('add a publisher, or another key to one')
      .argument('<name>', 'publisher name')
      .requiredOption('-p, --public-key <file>', "the publisher's public key file")
      .option('--models <glob>', 'model names this publisher may sign (repeatable; default: all)', collect, [])
      .option('--not-before <date>', 'the key signs validly from this date (rotation)')
      .option('--not-after <date>', 'the key signs validly until this date (rotation)'),
  ).action(run(async () => (await import('./commands/trust.js')).trustAdd));
  trustFile(trust.command('remove').description('remove a publisher').argument('<name>', 'publisher name')).action(
    run(async () => (await import('./commands/trust.js')).trustRemove),
  );
  trustFile(
    trust.command('revoke').description('revoke a key by its id').argument('<keyid>', 'key id (32 hex characters)').option('--reason <text>', 'why'),
  ).action(run(async () => (await import('./commands/trust.js')).trustRevoke));
  trustFile(
    trust
      .command('rule')
      .description('set the rule for model names matching GLOB')
      .argument('<glob>', 'model-name pattern')
      .addOption(new Option('--threshold <n>', 'distinct trusted publishers that must have signed').argParser(parseInteger))
      .option('--max-age <duration>', 'refuse signatures older than this (90d, 12h, 2w)')
      .option('--no-max-age', 'lift the maximum age')
      .option('--require-expiry', 'refuse signatures without an expiry')
      .option('--no-require-expiry', 'stop requiring an expiry')
      .addOption(new Option('--scan <mode>', 'scan mode verify applies to these models (default: no-unsafe)').choices(['off', 'no-unsafe', 'clean', 'default']))
      .option('--scan-allow-unknown <glob>', 'in clean mode, files of unknown format allowed at these paths, e.g. "*.md" (repeatable; replaces the list)', collect, [])
      .option('--scan-waive <code>', 'a waivable scan code that does not count for these models (repeatable; replaces the list)', collect, [])
      .option('--remove', 'remove the rule for GLOB'),
  ).action(run(async () => (await import('./commands/trust.js')).trustRule));
  trustFile(trust.command('list').description('show publishers, keys, revocations and rules')).action(
    run(async () => (await import('./commands/trust.js')).trustList),
  );

  try {
    await program.parseAsync(argv as string[], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return 0;
      const message = error.message.replace(/^error: /, '');
      return report(io, wantsJson, [{ code: 'USAGE', message: `${message} (see ms-sign --help)` }]);
    }
    if (error instanceof MsSignError) return report(io, wantsJson, [error.toProblem()]);
    return report(io, wantsJson, [toProblem(error)]);
  }
}

function report(io: CliIo, json: boolean, problems: Problem[]): number {
  if (json) writeLine(io.stdout, JSON.stringify({ ok: false, errors: problems }, null, 2));
  else printProblems(io, problems);
  return exitCodeFor(problems);
}

function parseInteger(value: string): number {
  if (!/^\d+$/.test(value)) throw new MsSignError('USAGE', `expected a whole number, got ${JSON.stringify(value)}`);
  return Number(value);
}
