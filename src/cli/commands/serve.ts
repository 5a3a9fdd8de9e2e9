import type { Command } from 'commander';
import { parseQuickInstances, QuickInstancesError } from '../../api/quick-instances.js';
import type { GatewayOptions, RunningGateway } from '../../api/server.js';
import { LOG_LEVELS } from '../../fleet/index.js';
import { readSupervisorEnv } from '../../supervisor/index.js';
import { CliError, ExitCode, fail } from '../cli-error.js';

/** The gateway flags `serve` and `launch` share. */
export interface GatewayFlags {
  port: string;
  listen: string;
  config?: string;
  dataDir?: string;
  insecure?: boolean;
  logLevel?: string;
  corsOrigins?: string;
  rateLimit?: string;
  templatesDir?: string;
  allowInputHosts?: string;
}

interface ServeOptions extends GatewayFlags {
  instances?: string;
  emulate?: string;
  local?: boolean;
}

/** How long a graceful shutdown may take before the process ends anyway. */
const SHUTDOWN_LIMIT_MS = 15_000;

function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || !Number.isInteger(port) || port > 65535) {
    throw new CliError(
      `--port must be a port number from 0 to 65535 (got "${text}")`,
      ExitCode.usage,
    );
  }
  return port;
}

function list(text: string | undefined): string[] | undefined {
  return text
    ?.split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/**
 * Adds the gateway flags (`--port`, `--listen`, `--config`, `--data-dir`, `--templates-dir`,
 * `--allow-input-hosts`, `--insecure`, `--log-level`, `--cors-origins`, `--rate-limit`) to a
 * command; {@link gatewayOptionsFrom} reads them back.
 *
 * @example
 * addGatewayFlags(program.command('launch'), { logLevelHelp: 'default warn' });
 */
export function addGatewayFlags(command: Command, notes: { logLevel?: string } = {}): Command {
  return command
    .option('--port <port>', 'port to listen on', '8190')
    .option(
      '--listen <address>',
      'address to bind (beyond loopback an API key is required)',
      '127.0.0.1',
    )
    .option('--config <file>', 'comfyui_instances.json to use (env COMFY_CLUSTER_CONFIG)')
    .option('--data-dir <dir>', 'where the database lives (env COMFY_CLUSTER_DATA_DIR)')
    .option(
      '--templates-dir <dir>',
      'workflow templates loaded at start (env COMFY_CLUSTER_TEMPLATES)',
    )
    .option(
      '--allow-input-hosts <list>',
      'hosts jobs may fetch input URLs from (comma-separated; off by default)',
    )
    .option('--insecure', 'allow a non-loopback address without any API key')
    .option(
      '--log-level <level>',
      `log level: ${LOG_LEVELS.join(', ')} (env LOG_LEVEL${notes.logLevel ? `; ${notes.logLevel}` : ''})`,
    )
    .option('--cors-origins <list>', 'comma-separated origins allowed by CORS ("*" for any)')
    .option(
      '--rate-limit <n>',
      'requests a minute per API key (per IP without one); 0 = off',
      '30000',
    );
}

/**
 * Turns the gateway flags into {@link GatewayOptions}; bad values are usage errors
 * ({@link CliError} with exit code 2).
 *
 * @example
 * const options = gatewayOptionsFrom(opts);
 * const gw = await startGateway({ ...options, quickInstances });
 */
export function gatewayOptionsFrom(opts: GatewayFlags): GatewayOptions {
  const port = parsePort(opts.port);
  const level = opts.logLevel?.toLowerCase();
  if (level !== undefined && !(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new CliError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`, ExitCode.usage);
  }
  if (!/^\d+$/.test(opts.rateLimit ?? '30000')) {
    throw new CliError(
      `--rate-limit must be a whole number (got "${opts.rateLimit}")`,
      ExitCode.usage,
    );
  }
  const rateLimit = Number(opts.rateLimit ?? '30000');
  const corsOrigins = list(opts.corsOrigins);
  const allowInputHosts = list(opts.allowInputHosts);
  return {
    host: opts.listen,
    port,
    insecure: opts.insecure === true,
    ...(opts.config === undefined ? {} : { configFile: opts.config }),
    ...(opts.dataDir === undefined ? {} : { dataDir: opts.dataDir }),
    ...(level === undefined ? {} : { flags: { log_level: level } }),
    ...(corsOrigins ? { corsOrigins } : {}),
    ...(opts.templatesDir === undefined ? {} : { templatesDir: opts.templatesDir }),
    ...(allowInputHosts === undefined ? {} : { allowInputHosts }),
    app: { rateLimit: rateLimit === 0 ? false : { max: rateLimit, windowMs: 60_000 } },
  };
}

/**
 * Starts the gateway with the HTTP stack loaded only now (other commands and flag errors do not
 * pay for it), turning start errors into the CLI's exit codes (usage 2, else 1).
 *
 * @example
 * const gateway = await startGatewayForCli('serve', options, () => cleanup());
 */
export async function startGatewayForCli(
  command: string,
  options: GatewayOptions,
  onError: () => Promise<unknown> = async () => undefined,
): Promise<RunningGateway> {
  let server: typeof import('../../api/server.js') | undefined;
  try {
    server = await import('../../api/server.js');
    return await server.startGateway(options);
  } catch (err) {
    await onError();
    if (server && err instanceof server.GatewayStartError) {
      fail(
        command,
        new CliError(err.message, err.kind === 'usage' ? ExitCode.usage : ExitCode.failed),
      );
    }
    fail(command, err);
  }
}

/** Hooks of {@link runUntilSignal}. */
export interface RunUntilSignalOptions {
  /** Runs after the gateway closed (e.g. emulators of `serve --emulate`). */
  afterClose?: () => Promise<unknown>;
  /** Printed or logged when the stop begins and when it is done. */
  onStopping?: (signal: NodeJS.Signals) => void;
  onStopped?: (ms: number) => void;
}

/**
 * Runs until SIGINT or SIGTERM, then closes the gateway gracefully (managed instances included)
 * and exits 0; a second signal or a stop longer than 15 s ends the process at once.
 *
 * @example
 * await runUntilSignal('serve', gateway);
 */
export async function runUntilSignal(
  command: string,
  gateway: RunningGateway,
  options: RunUntilSignalOptions = {},
): Promise<never> {
  await new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      // A second signal ends the process at once.
      if (stopping) process.exit(signal === 'SIGINT' ? 130 : 143);
      stopping = true;
      const began = Date.now();
      gateway.app.log.info({ signal }, 'shutting down');
      options.onStopping?.(signal);
      const limit = setTimeout(() => {
        process.stderr.write(`comfy-cluster ${command}: shutdown took too long; exiting\n`);
        process.exit(ExitCode.failed);
      }, SHUTDOWN_LIMIT_MS);
      limit.unref();
      void gateway
        .close()
        .then(
          () => options.afterClose?.(),
          (err: unknown) => {
            process.stderr.write(
              `comfy-cluster ${command}: error while stopping: ${String(err)}\n`,
            );
          },
        )
        .then(() => {
          options.onStopped?.(Date.now() - began);
          resolve();
        });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  // Client keep-alive sockets or timers of libraries must not hold the process.
  process.exit(ExitCode.ok);
}

/**
 * `comfy-cluster serve`: the gateway (HTTP API, health, metrics, events) in front of the
 * configured ComfyUI instances, until SIGINT or SIGTERM (then a graceful stop, exit 0). With
 * `--local` (or ENABLE_COMFYUI=true) it also runs ComfyUI on this machine, one managed instance
 * per GPU (COMFYUI_INSTALL_PATH, NUM_GPUS, COMFYUI_CPU_ONLY, COMFYUI_PORT_START apply).
 *
 * @example
 * // comfy-cluster serve --instances http://127.0.0.1:8188,http://127.0.0.1:8189
 * registerServeCommand(program);
 */
export function registerServeCommand(program: Command): void {
  const command = program
    .command('serve')
    .description('Run the gateway in front of the configured ComfyUI instances')
    .option(
      '--instances <urls>',
      'quick start: only these instances (comma-separated URLs or host:port), not saved',
    )
    .option(
      '--emulate <n>',
      'demo: also start n emulated ComfyUI instances (no GPU) and serve them, not saved',
    )
    .option(
      '--local',
      'also run ComfyUI on this machine, one managed instance per GPU (env ENABLE_COMFYUI=true)',
    );
  addGatewayFlags(command)
    .addHelpText(
      'after',
      '\nExamples:\n  comfy-cluster serve --emulate 3\n  comfy-cluster serve --instances http://127.0.0.1:8188\n  comfy-cluster serve --local\n  comfy-cluster keys create --role admin --data-dir && comfy-cluster serve --listen 0.0.0.0\n',
    )
    .action(async (opts: ServeOptions) => {
      const emulators: { url: string; close(): Promise<void> }[] = [];
      const closeEmulators = () => Promise.allSettled(emulators.map((e) => e.close()));
      let options: GatewayOptions;
      try {
        options = gatewayOptionsFrom(opts);
        const emulate = opts.emulate === undefined ? 0 : Number(opts.emulate);
        if (!/^\d+$/.test(opts.emulate ?? '0') || emulate > 64) {
          throw new CliError(
            `--emulate must be a whole number from 0 to 64 (got "${opts.emulate}")`,
            ExitCode.usage,
          );
        }
        if ((opts.instances !== undefined || emulate > 0) && opts.config !== undefined) {
          throw new CliError(
            '--instances/--emulate and --config cannot be combined: they run only the given instances',
            ExitCode.usage,
          );
        }
        if (emulate > 0) {
          const { startEmulator } = await import('../../emulator/index.js');
          for (let i = 0; i < emulate; i++) emulators.push(await startEmulator({ port: 0 }));
        }
        const quickList = [opts.instances, ...emulators.map((e) => e.url)]
          .filter((v): v is string => v !== undefined && v !== '')
          .join(',');
        if (quickList !== '') options.quickInstances = parseQuickInstances(quickList);
        const local = opts.local === true || readSupervisorEnv(process.env).values.enableComfyui;
        if (local) options.local = {};
      } catch (err) {
        await closeEmulators();
        if (err instanceof QuickInstancesError)
          fail('serve', new CliError(err.message, ExitCode.usage));
        fail('serve', err);
      }
      const gateway = await startGatewayForCli('serve', options, closeEmulators);
      for (const e of emulators) process.stdout.write(`emulated ComfyUI instance at ${e.url}\n`);
      for (const s of gateway.managed?.supervisor.states() ?? []) {
        process.stdout.write(
          `managed ComfyUI instance ${s.name}: ${s.status} at ${s.url}${s.pid ? ` (pid ${s.pid})` : ''}\n`,
        );
      }
      process.stdout.write(
        `comfy-cluster listening on ${gateway.url} (API docs: ${gateway.url}/docs, health: ${gateway.url}/health)\n`,
      );
      await runUntilSignal('serve', gateway, { afterClose: closeEmulators });
    });
}
