/**
 * The options every command that talks to a gateway shares (`--url`, `--api-key`, `--json`,
 * `--timeout`), their environment defaults, and the one way such a command runs and ends.
 */
import { type Command, Option } from 'commander';
import { ClusterClient, DEFAULT_GATEWAY_URL } from '../client/index.js';
import { CliError, type ErrorContext, ExitCode, fail } from './cli-error.js';

/** The shared options as commander parses them. */
export interface RemoteOptions {
  url?: string;
  apiKey?: string;
  json?: boolean;
  timeout?: string;
}

/** A connected command: the SDK client and what error messages name. */
export interface Remote {
  client: ClusterClient;
  url: string;
  json: boolean;
  context: ErrorContext;
}

/**
 * Adds `--url`, `--api-key`, `--json` and `--timeout` to a command.
 *
 * @example
 * withRemoteOptions(program.command('status')).action(...);
 */
export function withRemoteOptions(command: Command): Command {
  return command
    .option(
      '--url <url>',
      `gateway address (env COMFY_CLUSTER_URL, default ${DEFAULT_GATEWAY_URL})`,
    )
    .option('--api-key <key>', 'API key (env COMFY_CLUSTER_API_KEY)')
    .option('--json', 'print JSON for scripts instead of tables')
    .addOption(
      new Option('--timeout <seconds>', 'give up on a gateway request after this long').default(
        '30',
      ),
    );
}

/**
 * The gateway address the options point at: `--url` > `COMFY_CLUSTER_URL` > default, checked
 * and without a trailing slash.
 *
 * @example
 * gatewayUrl({ url: 'localhost:8190' }); // 'http://localhost:8190'
 */
export function gatewayUrl(opts: RemoteOptions, env: NodeJS.ProcessEnv = process.env): string {
  const raw = (opts.url ?? env.COMFY_CLUSTER_URL ?? '').trim() || DEFAULT_GATEWAY_URL;
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
  let parsed: URL;
  try {
    parsed = new URL(withScheme);
  } catch {
    throw new CliError(
      `--url must be an http(s) address like ${DEFAULT_GATEWAY_URL} (got "${raw}")`,
      ExitCode.usage,
    );
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new CliError(
      `--url must be an http(s) address like ${DEFAULT_GATEWAY_URL} (got "${raw}")`,
      ExitCode.usage,
    );
  }
  return parsed.href.replace(/\/+$/, '');
}

/**
 * Builds the SDK client from the options (flags over environment).
 *
 * @example
 * const { client } = connect({ url: 'http://127.0.0.1:8190' });
 */
export function connect(opts: RemoteOptions, env: NodeJS.ProcessEnv = process.env): Remote {
  const url = gatewayUrl(opts, env);
  const apiKey = (opts.apiKey ?? env.COMFY_CLUSTER_API_KEY ?? '').trim();
  const seconds = Number(opts.timeout ?? '30');
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new CliError(
      `--timeout must be a number of seconds > 0 (got "${opts.timeout}")`,
      ExitCode.usage,
    );
  }
  const client = new ClusterClient({
    url,
    ...(apiKey === '' ? {} : { apiKey }),
    timeoutMs: Math.round(seconds * 1000),
  });
  return { client, url, json: opts.json === true, context: { url, apiKey: apiKey !== '' } };
}

/**
 * Runs a remote command: connects, does the work, then exits with the code the work returns
 * (0 by default). Any error ends the process with one line and its exit code.
 *
 * @example
 * .action((opts) => runRemote('status', opts, async ({ client }) => { ... }));
 */
export async function runRemote(
  name: string,
  opts: RemoteOptions,
  work: (remote: Remote) => Promise<ExitCode | undefined>,
): Promise<never> {
  let context: ErrorContext = {};
  let code: ExitCode | undefined;
  try {
    const remote = connect(opts);
    context = remote.context;
    code = await work(remote);
  } catch (err) {
    fail(name, err, context);
  }
  return exit(code ?? ExitCode.ok);
}

/** Ends the process once stdout has taken everything written so far. */
export async function exit(code: number): Promise<never> {
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  process.exit(code);
}

/**
 * Throws a usage error (exit 2) unless `value` is a whole number in range.
 *
 * @example
 * parseWhole('--lines', '200', 1, 10_000); // 200
 */
export function parseWhole(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < min || n > max) {
    throw new CliError(
      `${flag} must be a whole number from ${min} to ${max} (got "${value}")`,
      ExitCode.usage,
    );
  }
  return n;
}

/**
 * The text after `Example:` in every command's help.
 *
 * @example
 * command.addHelpText('after', example('comfy-cluster status --watch'));
 */
export function example(...lines: string[]): string {
  return `\nExample${lines.length > 1 ? 's' : ''}:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
}
