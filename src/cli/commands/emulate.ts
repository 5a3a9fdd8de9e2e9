import type { Command } from 'commander';
import { parseModelSpec, type RunningEmulator, startEmulator } from '../../emulator/index.js';

interface EmulateOptions {
  instances: string;
  port: string;
  listen: string;
  speed: string;
  models?: string;
  nodePacks?: string;
}

function fail(message: string): never {
  process.stderr.write(`comfy-cluster emulate: ${message}\n`);
  process.exit(1);
}

/**
 * `comfy-cluster emulate`: N emulated ComfyUI instances on consecutive ports, in this process,
 * until Ctrl-C or SIGTERM.
 *
 * @example
 * // comfy-cluster emulate --instances 3 --port 8188 --speed 4
 * registerEmulateCommand(program);
 */
export function registerEmulateCommand(program: Command): void {
  program
    .command('emulate')
    .description('Start emulated ComfyUI instances (no GPU needed) on consecutive ports')
    .option('--instances <n>', 'number of instances', '1')
    .option('--port <port>', 'port of the first instance', '8188')
    .option('--listen <address>', 'address to bind', '127.0.0.1')
    .option('--speed <factor>', 'simulated time is divided by this ("Infinity": instant)', '1')
    .option('--models <spec>', 'model files, e.g. "checkpoints=a.safetensors;loras=x.safetensors"')
    .option('--node-packs <list>', 'custom node packs, comma-separated')
    .addHelpText(
      'after',
      '\nExample:\n  comfy-cluster emulate --instances 3 --port 8188 --speed 10 --models "checkpoints=sd15.safetensors"\n',
    )
    .action(async (opts: EmulateOptions) => {
      const instances = Number(opts.instances);
      if (!Number.isInteger(instances) || instances < 1) {
        fail(`--instances must be a whole number ≥ 1 (got "${opts.instances}")`);
      }
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port + instances - 1 > 65535) {
        fail(`--port must be a port number (got "${opts.port}")`);
      }
      const speed =
        opts.speed.toLowerCase() === 'infinity' ? Number.POSITIVE_INFINITY : Number(opts.speed);
      if (Number.isNaN(speed) || speed <= 0) {
        fail(`--speed must be a number > 0 or "Infinity" (got "${opts.speed}")`);
      }
      let models: ReturnType<typeof parseModelSpec> | undefined;
      if (opts.models !== undefined) {
        try {
          models = parseModelSpec(opts.models);
        } catch (err) {
          fail(`--models: ${(err as Error).message}`);
        }
      }
      const nodePacks = opts.nodePacks
        ?.split(',')
        .map((p) => p.trim())
        .filter((p) => p !== '');

      const running: RunningEmulator[] = [];
      const closeAll = () => Promise.allSettled(running.map((e) => e.close()));
      for (let i = 0; i < instances; i++) {
        const instancePort = port === 0 ? 0 : port + i;
        try {
          running.push(
            await startEmulator({
              host: opts.listen,
              port: instancePort,
              speed,
              ...(models === undefined ? {} : { models }),
              ...(nodePacks === undefined ? {} : { nodePacks }),
            }),
          );
        } catch (err) {
          await closeAll();
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'EADDRINUSE')
            fail(`port ${instancePort} on ${opts.listen} is already in use`);
          if (code === 'EADDRNOTAVAIL') fail(`cannot bind ${opts.listen}: address not available`);
          fail((err as Error).message);
        }
        const emulator = running[i] as RunningEmulator;
        process.stdout.write(`instance ${i + 1}: ${emulator.url}\n`);
      }

      await new Promise<void>((resolve) => {
        // A second Ctrl-C (no handler left) ends the process at once.
        const stop = () => {
          void closeAll().then(() => resolve());
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      process.exitCode = 0;
    });
}
