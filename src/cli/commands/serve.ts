import type { Command } from 'commander';
import { parseQuickInstances, QuickInstancesError } from '../../api/quick-instances.js';
import type { RunningGateway } from '../../api/server.js';
import { LOG_LEVELS } from '../../fleet/index.js';
import { CliError, ExitCode, fail } from '../cli-error.js';

interface ServeOptions {
  port: string;
  listen: string;
  instances?: string;
  emulate?: string;
  config?: string;
  dataDir?: string;
  insecure?: boolean;
  logLevel?: string;
  corsOrigins?: string;
  rateLimit?: string;
  templatesDir?: string;
  allowInputHosts?: string;
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

/**
 * `comfy-cluster serve`: the gateway (HTTP API, health, metrics, events) in front of the
 * configured ComfyUI instances, until SIGINT or SIGTERM (then a graceful stop, exit 0).
 *
 * @example
 * // comfy-cluster serve --instances http://127.0.0.1:8188,http://127.0.0.1:8189
 * registerServeCommand(program);
 */
export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('Run the gateway in front of the configured ComfyUI instances')
    .option('--port <port>', 'port to listen on', '8190')
    .option(
      '--listen <address>',
      'address to bind (beyond loopback an API key is required)',
      '127.0.0.1',
    )
    .option(
      '--instances <urls>',
      'quick start: only these instances (comma-separated URLs or host:port), not saved',
    )
    .option(
      '--emulate <n>',
      'demo: also start n emulated ComfyUI instances (no GPU) and serve them, not saved',
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
    .option('--log-level <level>', `log level: ${LOG_LEVELS.join(', ')} (env LOG_LEVEL)`)
    .option('--cors-origins <list>', 'comma-separated origins allowed by CORS ("*" for any)')
    .option(
      '--rate-limit <n>',
      'requests a minute per API key (per IP without one); 0 = off',
      '30000',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  comfy-cluster serve --emulate 3\n  comfy-cluster serve --instances http://127.0.0.1:8188\n  comfy-cluster keys create --role admin && comfy-cluster serve --listen 0.0.0.0\n',
    )
    .action(async (opts: ServeOptions) => {
      let gateway: RunningGateway;
      const emulators: { url: string; close(): Promise<void> }[] = [];
      let server: typeof import('../../api/server.js') | undefined;
      try {
        const port = parsePort(opts.port);
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
        const level = opts.logLevel?.toLowerCase();
        if (level !== undefined && !(LOG_LEVELS as readonly string[]).includes(level)) {
          throw new CliError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`, ExitCode.usage);
        }
        const corsOrigins = opts.corsOrigins
          ?.split(',')
          .map((o) => o.trim())
          .filter((o) => o !== '');
        const rateLimit = Number(opts.rateLimit ?? '30000');
        if (!/^\d+$/.test(opts.rateLimit ?? '30000')) {
          throw new CliError(
            `--rate-limit must be a whole number (got "${opts.rateLimit}")`,
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
        const quickInstances = quickList === '' ? undefined : parseQuickInstances(quickList);
        // Loaded only now so other commands (and flag errors) do not pay for the HTTP stack.
        server = await import('../../api/server.js');
        gateway = await server.startGateway({
          host: opts.listen,
          port,
          insecure: opts.insecure === true,
          ...(quickInstances === undefined ? {} : { quickInstances }),
          ...(opts.config === undefined ? {} : { configFile: opts.config }),
          ...(opts.dataDir === undefined ? {} : { dataDir: opts.dataDir }),
          ...(level === undefined ? {} : { flags: { log_level: level } }),
          ...(corsOrigins ? { corsOrigins } : {}),
          ...(opts.templatesDir === undefined ? {} : { templatesDir: opts.templatesDir }),
          ...(opts.allowInputHosts === undefined
            ? {}
            : {
                allowInputHosts: opts.allowInputHosts
                  .split(',')
                  .map((h) => h.trim())
                  .filter((h) => h !== ''),
              }),
          app: { rateLimit: rateLimit === 0 ? false : { max: rateLimit, windowMs: 60_000 } },
        });
      } catch (err) {
        await Promise.allSettled(emulators.map((e) => e.close()));
        if (err instanceof QuickInstancesError)
          fail('serve', new CliError(err.message, ExitCode.usage));
        if (server && err instanceof server.GatewayStartError) {
          fail(
            'serve',
            new CliError(err.message, err.kind === 'usage' ? ExitCode.usage : ExitCode.failed),
          );
        }
        fail('serve', err);
      }
      for (const e of emulators) process.stdout.write(`emulated ComfyUI instance at ${e.url}\n`);
      process.stdout.write(
        `comfy-cluster listening on ${gateway.url} (API docs: ${gateway.url}/docs, health: ${gateway.url}/health)\n`,
      );

      await new Promise<void>((resolve) => {
        let stopping = false;
        const onSignal = (signal: NodeJS.Signals) => {
          // A second signal ends the process at once.
          if (stopping) process.exit(signal === 'SIGINT' ? 130 : 143);
          stopping = true;
          gateway.app.log.info({ signal }, 'shutting down');
          const limit = setTimeout(() => {
            process.stderr.write('comfy-cluster serve: shutdown took too long; exiting\n');
            process.exit(ExitCode.failed);
          }, SHUTDOWN_LIMIT_MS);
          limit.unref();
          void gateway
            .close()
            .then(
              () => Promise.allSettled(emulators.map((e) => e.close())),
              (err: unknown) => {
                process.stderr.write(`comfy-cluster serve: error while stopping: ${String(err)}\n`);
              },
            )
            .then(() => resolve());
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
      });
      // Client keep-alive sockets or timers of libraries must not hold the process.
      process.exit(ExitCode.ok);
    });
}
