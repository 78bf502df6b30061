import { Command, CommanderError, Option } from 'commander';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { MsSignError, toProblem, type Problem } from '@ms-sign/core';
import { DEFAULT_KEY_PREFIX } from './defaults.js';
import { exitCodeFor } from './exit-codes.js';
import { writeLine, type CliIo } from './io.js';
import { printProblems } from './output.js';

const collect = (value: string, previous: string[]) => [...previous, value];

/** The top-level commands, as runProgram registers them. */
export const COMMAND_NAMES = ['keygen', 'sign', 'verify', 'scan', 'inspect', 'keyid', 'verify-raw', 'exec', 'trust'] as const;
type CommandName = (typeof COMMAND_NAMES)[number];

/**
 * Wires commander to the commands. Each action imports its command module lazily and returns an
 * exit code; errors thrown by commands become exit codes in exactly one place (exitCodeFor).
 */
export async function runProgram(argv: readonly string[], io: CliIo, version: string): Promise<number> {
  let exitCode = 0;
  // Only ms-sign's own arguments: after "--" they belong to exec's CMD.
  const dashes = argv.indexOf('--');
  const own = dashes < 0 ? argv : argv.slice(0, dashes);
  const wantsJson = own.includes('--json');
  // `verify -V tampered.ms` must never exit 0: a script written from minisign habit would then load
  // the model. --version is answered only when it is the whole command line.
  if (own.some(isVersionFlag) && !(argv.length === 1 && isVersionFlag(argv[0]!))) {
    return report(io, wantsJson, [{ code: 'USAGE', message: '-V/--version is a top-level option: run "ms-sign --version" on its own' }]);
  }
  // Commander's help and version text is held until it is clear that nothing else was asked for.
  let commanderOut = '';
  let commanderErr = '';
  const program = new Command()
    .name('ms-sign')
    .description('Sign model files and refuse to load them unless a trusted publisher released exactly these bytes.')
    .version(version, '-V, --version')
    .exitOverride()
    // Options of ms-sign itself (-V, -h) count only before the command name, not anywhere after it.
    .enablePositionalOptions()
    .configureOutput({
      writeOut: (s) => {
        commanderOut += s;
      },
      // Usage errors are reported below (also as JSON with --json), not by commander itself.
      writeErr: (s) => {
        commanderErr += s;
      },
    })
    .showSuggestionAfterError(true)
    .allowExcessArguments(false)
    .addHelpText(
      'after',
      '\n"ms-sign MODEL [verify options]" is short for "ms-sign verify MODEL": it verifies MODEL with the\ndefault trust policy lookup. For a file named like a command, write ./NAME.',
    );

  const run = (load: () => Promise<(...args: never[]) => Promise<number>>) =>
    async (...args: unknown[]) => {
      const command = await load();
      exitCode = await (command as (...a: unknown[]) => Promise<number>)(...args.slice(0, -1), io);
    };

  // Building every command with its options cost ~2.5 ms of a small model's verify (commander
  // makes an Option and an event listener per flag, cold). When the first argument names a
  // command, commander dispatches to it and only its own definition matters (its options, help,
  // errors and suggestions), so only that one is built; anything else (help, an implicit verify,
  // a typo) gets them all.
  const only = (COMMAND_NAMES as readonly string[]).includes(argv[0] ?? '') ? argv[0] : undefined;
  const wanted = (name: CommandName) => only === undefined || only === name;

  if (wanted('keygen')) {
    program
      .command('keygen')
      .description('make a new Ed25519 key pair: PREFIX.key (secret, mode 0600) and PREFIX.pub')
      .option('-o, --output <prefix>', 'path prefix of the key files', DEFAULT_KEY_PREFIX)
      .option('--no-passphrase', 'do not encrypt the secret key (else: MS_SIGN_PASSPHRASE or a prompt)')
      .option('--force', 'replace existing key files')
      .addOption(new Option('--algorithm <name>', 'ed25519 (ms-sign signatures) or ecdsa-p256 (OMS bundles for model_signing)').choices(['ed25519', 'ecdsa-p256']).default('ed25519'))
      .option('--pkcs11 <uri>', 'make the key pair on a PKCS#11 token (pkcs11:token=...;object=LABEL); writes only PREFIX.pub')
      .option('--json', 'print one JSON object on stdout')
      .action(run(async () => (await import('./commands/keygen.js')).keygenCommand));
  }

  if (wanted('sign')) {
    program
      .command('sign')
      .description('hash MODEL (a file or directory) and write its signature file')
      .argument('<model>', 'model file or directory')
      .option('-k, --key <file>', 'secret key file (else the key text in MS_SIGN_KEY, else ./ms-sign.key as keygen makes it)')
      .option('--pkcs11 <uri>', 'sign with a key on a PKCS#11 token: pkcs11:token=...;object=... (docs/signers.md)')
      .option('--signer-cmd <cmd>', 'sign by running CMD: message on its stdin, raw signature on its stdout (else MS_SIGN_SIGNER_CMD)')
      .option('-p, --public-key <file>', "the signing command's public key; every signature is checked against it")
      .addOption(new Option('--signer-timeout <seconds>', 'time the signing command has (default: 60)').argParser(parseInteger))
      .option('-o, --output <sig>', 'signature file to write (default: MODEL.sig)')
      .option('--name <name>', 'model name policies match on (default: the file or directory name)')
      .option('--model-version <version>', 'model version, for rollback protection')
      .option('-a, --annotation <key=value>', 'annotation to record, e.g. -a commit=abc123 (repeatable)', collect, [])
      .option('--ignore <pattern>', 'leave out files of a directory, .gitignore style (*.tmp at any depth, logs/ a directory, /x anchored); recorded and applied on verify (repeatable)', collect, [])
      .option('--no-ignore-git', 'sign .git/ directories too (left out by default, and recorded as left out)')
      .addOption(new Option('--hash <algorithm>', 'hash algorithm').choices(['sha256', 'sha512']).default('sha256'))
      .option('--expires <when>', 'expiry: a duration from now (90d, 12h, 2w) or a date (2027-01-31)')
      .option('--append', 'add a signature to the existing signature file (co-signing) after checking the model matches')
      .addOption(new Option('--format <format>', 'native (ms-sign signature file) or oms (OMS bundle that model_signing verifies; needs an ECDSA key)').choices(['native', 'oms']).default('native'))
      .option('--accept-ignores', 'with --append: vouch for the ignore patterns the signature file records without repeating them as --ignore')
      .option('--force', 'replace a signature file that holds other keys\' signatures (they are dropped)')
      .addOption(new Option('--scan <mode>', 'scan before signing: off, no-unsafe (refuse unsafe or malformed files) or clean (also unknown formats)').choices(['off', 'no-unsafe', 'clean']))
      .option('--no-scan', 'same as --scan off')
      .option('--allow-unsafe', 'sign even if the scan refuses the model (its findings are printed)')
      .option('--allow-global <module:qualname>', 'the scan also allows this pickle global (repeatable; never a hard-denied one)', collect, [])
      .addOption(new Option('--shard-size <bytes>', 'shard size in bytes, a power of two (advanced)').argParser(parseInteger).hideHelp())
      .addOption(new Option('--threads <n>', 'hashing threads (default: one per core)').argParser(parseInteger).hideHelp())
      .option('--json', 'print one JSON object on stdout')
      .option('-q, --quiet', 'print nothing on success')
      .option('--progress', 'report hashing progress on stderr, also when it is not a terminal (a line every few seconds)')
      .action(run(async () => (await import('./commands/sign.js')).signCommand));
  }

  const verifyOptions = (command: Command) =>
    command
      .option('-s, --signature <sig>', 'signature file (default: MODEL.sig)')
      .option('-p, --public-key <file>', "trust this publisher's public key (repeatable; replaces the trust policy)", collect, [])
      .option('-t, --trust <file>', 'trust policy file (else MS_SIGN_TRUST, $XDG_CONFIG_HOME/ms-sign/trust.json, /etc/ms-sign/trust.json; never the current directory)')
      .option('--name <name>', 'refuse a model signed under another name')
      .option('--state <file>', 'rollback protection: refuse models older than those seen before, record newer ones')
      .option('--allow-rollback', 'accept an older model this once (with --state)')
      .option('--fail-fast', 'stop at the first problem instead of reporting all')
      .option('--json', 'print one JSON object on stdout')
      .option('-q, --quiet', 'print nothing on success')
      .option('--ignore <path>', 'a file or directory present in the model but not signed, relative to the model root (repeatable; for OMS bundles that do not record it)', collect, [])
      .option('--cert-root <file>', 'OMS bundles in certificate mode: trust chains to this root certificate (PEM; repeatable; replaces the trust policy)', collect, [])
      .option('--sigstore-identity <id>', 'OMS Sigstore keyless bundles: trust this signer identity, exactly (with --sigstore-issuer; replaces the trust policy)')
      .option('--sigstore-issuer <url>', 'the OIDC issuer of --sigstore-identity, exactly')
      .option('--trusted-root <file>', 'Sigstore trusted_root.json that keyless OMS bundles are checked against (offline)')
      .option('--progress', 'report hashing progress on stderr, also when it is not a terminal (a line every few seconds)')
      .addOption(new Option('--scan <mode>', 'scan of the verified bytes: off, no-unsafe (refuse unsafe or malformed files) or clean (also unknown formats); may only tighten what the trust policy sets').choices(['off', 'no-unsafe', 'clean']))
      .option('--no-scan', 'same as --scan off')
      .addOption(new Option('--threads <n>', 'hashing threads (default: one per core)').argParser(parseInteger).hideHelp());

  if (wanted('verify')) {
    verifyOptions(
      program
        .command('verify')
        .description('verify each MODEL against its signature file and the trust anchors; exit 0 only if all may be loaded')
        .argument('<model...>', 'model files or directories (each with its own MODEL.sig)'),
    )
      .option('--output <file>', 'write the verified bytes of a single-file model to FILE, or - for stdout (only after success)')
      .action(run(async () => (await import('./commands/verify.js')).verifyCommand));
  }

  if (wanted('scan')) {
    program
      .command('scan')
      .description('check that each file of MODEL is a valid model format that cannot run code or drive its loader out of bounds')
      .argument('<model>', 'model file or directory')
      .addOption(new Option('--mode <mode>', 'no-unsafe: fail on unsafe or malformed files; clean: also on files of unknown format').choices(['no-unsafe', 'clean']).default('no-unsafe'))
      .option('--ignore <pattern>', 'leave out files of a directory, .gitignore style as for sign (*.tmp at any depth, logs/ a directory, /x anchored; repeatable)', collect, [])
      .option('--no-ignore-git', 'scan .git/ directories too (left out by default, as sign leaves them out)')
      .option('--allow-global <module:qualname>', 'also allow this pickle global (repeatable)', collect, [])
      .option('--json', 'print one JSON object on stdout')
      .option('-q, --quiet', 'print nothing on success')
      .action(run(async () => (await import('./commands/scan.js')).scanCommand));
  }

  if (wanted('inspect')) {
    program
      .command('inspect')
      .description('show what a signature file says, WITHOUT verifying it (or the key id of a public key file)')
      .argument('<sig>', 'signature file')
      .option('--json', 'print one JSON object on stdout')
      .action(run(async () => (await import('./commands/inspect.js')).inspectCommand));
  }

  if (wanted('keyid')) {
    program
      .command('keyid')
      .description("print the key id of a public key file (as signatures, policies and revocations name keys)")
      .argument('<pubkey>', 'public key file (PEM)')
      .option('--json', 'print one JSON object on stdout')
      .action(run(async () => (await import('./commands/inspect.js')).inspectPublicKey));
  }

  // Hidden: one raw Ed25519 verification, for the conformance suite's vectors (conformance/README.md).
  if (wanted('verify-raw')) {
    program
      .command('verify-raw', { hidden: true })
      .description('verify one Ed25519 signature given as hex, with the rules verify applies')
      .argument('<public-key>', 'public key, 32 bytes in hex')
      .argument('<message>', 'message in hex (may be empty)')
      .argument('<signature>', 'signature, 64 bytes in hex')
      .action(run(async () => (await import('./commands/verify-raw.js')).verifyRawCommand));
  }

  if (wanted('exec')) {
    verifyOptions(
      program
        .command('exec')
        .description('run CMD only if MODEL verifies; {} in ARGS becomes the path to load')
        .argument('<model>', 'model file or directory')
        .argument('<cmd...>', 'command to run, after --'),
    )
      .option('--copy', 'give CMD a private read-only copy of exactly the verified bytes (removed afterwards)')
      .action(run(async () => (await import('./commands/exec.js')).execCommand));
  }

  if (wanted('trust')) {
    const trust = program.command('trust').description('manage the trust policy (whom to trust for which models)');
    const trustFile = (command: Command) =>
      command
        .option('-t, --trust <file>', 'trust policy file (else MS_SIGN_TRUST, $XDG_CONFIG_HOME/ms-sign/trust.json, /etc/ms-sign/trust.json; never the current directory)')
        .option('--json', 'print one JSON object on stdout');
    trustFile(trust.command('init').description('create an empty trust policy (never overwrites one)')).action(
      run(async () => (await import('./commands/trust.js')).trustInit),
    );
    trustFile(
      trust
        .command('add')
        .description('add a publisher, or another key, certificate root or Sigstore identity to one')
        .argument('<name>', 'publisher name')
        .option('-p, --public-key <file>', "the publisher's public key file (Ed25519, or ECDSA for OMS bundles)")
        .option('--cert-root <file>', 'trust OMS bundles whose certificate chain reaches this root (PEM)')
        .option('--sigstore-identity <id>', 'trust Sigstore keyless OMS bundles of this identity (email or URI, exact; with --sigstore-issuer)')
        .option('--sigstore-issuer <url>', 'the OIDC issuer of --sigstore-identity (exact)')
        .option('--models <glob>', 'model names this publisher may sign (repeatable; default: all)', collect, [])
        .option('--not-before <date>', 'the anchor signs validly from this date (rotation)')
        .option('--not-after <date>', 'the anchor signs validly until this date (rotation)'),
    ).action(run(async () => (await import('./commands/trust.js')).trustAdd));
    trustFile(trust.command('remove').description('remove a publisher').argument('<name>', 'publisher name')).action(
      run(async () => (await import('./commands/trust.js')).trustRemove),
    );
    trustFile(
      trust
        .command('revoke')
        .description('revoke a key: its .pub file, its key id, or an unambiguous prefix of a listed key\'s id')
        .argument('<key>', 'public key file, or key id (or a prefix of one, at least 4 hex characters)').option('--reason <text>', 'why'),
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
        .option('--allow-global <module:qualname>', 'pickle global these models may import besides the allow-list, e.g. collections:defaultdict (repeatable; replaces the list)', collect, [])
        .option('--scan-waive <code>', 'a waivable scan code that does not count for these models (repeatable; replaces the list)', collect, [])
        .option('--remove', 'remove the rule for GLOB'),
    ).action(run(async () => (await import('./commands/trust.js')).trustRule));
    trustFile(trust.command('list').description('show publishers, keys, revocations and rules')).action(
      run(async () => (await import('./commands/trust.js')).trustList),
    );
  }

  // COMMAND_NAMES must be exactly the commands built above, or naming one first would build none.
  const built = program.commands.map((c) => c.name());
  if (only === undefined && (built.length !== COMMAND_NAMES.length || built.some((name) => !(COMMAND_NAMES as readonly string[]).includes(name)))) {
    throw new MsSignError('INTERNAL', `COMMAND_NAMES does not list the commands runProgram builds: ${built.join(', ')}`);
  }

  try {
    await program.parseAsync(implicitVerify(argv, program, io) as string[], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.version') {
        io.stdout.write(commanderOut);
        return 0;
      }
      // "commander.help" with exit code 0 is the `help` command; with 1, a missing subcommand.
      if (error.code === 'commander.helpDisplayed' || (error.code === 'commander.help' && error.exitCode === 0)) {
        // Help with a model or any option is a usage error: `verify --help tampered.ms` exiting 0
        // would read as "verified" to a script.
        if (!isBareHelpRequest(program, argv)) {
          return report(io, wantsJson, [{ code: 'USAGE', message: '--help takes no other argument: run "ms-sign COMMAND --help" on its own' }]);
        }
        io.stdout.write(commanderOut);
        return 0;
      }
      if (error.code === 'commander.help') {
        // A command that needs a subcommand was given none: its help on stderr, and a usage error.
        if (!wantsJson) io.stderr.write(commanderErr);
        return report(io, wantsJson, [{ code: 'USAGE', message: 'no command given (see ms-sign --help)' }]);
      }
      const message = error.message.replace(/^error: /, '');
      return report(io, wantsJson, [{ code: 'USAGE', message: `${message} (see ms-sign --help)` }]);
    }
    if (error instanceof MsSignError) return report(io, wantsJson, [error.toProblem()]);
    return report(io, wantsJson, [toProblem(error)]);
  }
}

function isVersionFlag(arg: string): boolean {
  return arg === '-V' || arg === '--version';
}

/**
 * Whether argv asks for help and nothing else: one help flag or one `help` word, and otherwise
 * only the names of (sub)commands, as in `verify --help`, `trust add -h` or `help trust add`.
 */
function isBareHelpRequest(program: Command, argv: readonly string[]): boolean {
  let command = program;
  let helpWords = 0;
  for (const arg of argv) {
    if (arg === '-h' || arg === '--help' || arg === 'help') {
      helpWords++;
      continue;
    }
    const sub = command.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
    if (sub === undefined) return false;
    command = sub;
  }
  return helpWords === 1;
}

/**
 * `ms-sign MODEL [verify options]` is `ms-sign verify MODEL ...`: when the first argument is
 * neither a command nor a top-level flag, it is a model. A file named like a command stays
 * reachable as `ms-sign ./verify` or `ms-sign verify verify`. A first argument that is no file
 * but one edit from a command name is a mistyped command (exit 2), not a missing model.
 */
export function implicitVerify(argv: readonly string[], program: Command, io: CliIo): readonly string[] {
  const first = argv[0];
  if (first === undefined || first.startsWith('-')) return argv;
  const names = ['help', ...program.commands.flatMap((c) => [c.name(), ...c.aliases()])];
  if (names.includes(first)) return argv;
  if (!existsSync(resolve(io.cwd, first))) {
    const near = names.find((name) => editDistanceAtMostOne(name, first));
    if (near !== undefined) throw new MsSignError('USAGE', `unknown command ${JSON.stringify(first)} (did you mean ${near}?); to verify a file of that name, write ./${first}`);
  }
  return ['verify', ...argv];
}

function editDistanceAtMostOne(a: string, b: string): boolean {
  if (Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  let j = 0;
  while (j < a.length - i && j < b.length - i && a[a.length - 1 - j] === b[b.length - 1 - j]) j++;
  // One substitution, insertion or deletion, or two swapped neighbours.
  const rest = Math.max(a.length, b.length) - i - j;
  if (rest <= 1) return true;
  return a.length === b.length && rest === 2 && a[i] === b[i + 1] && a[i + 1] === b[i];
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
