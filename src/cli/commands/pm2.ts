import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import {
  createInstanceDirs,
  PlanError,
  planLocalFleet,
  pm2Ecosystem,
  renderEcosystemFile,
} from '../../supervisor/index.js';
import { CliError, ExitCode, fail } from '../cli-error.js';

interface Pm2CommandOptions {
  output: string;
  dir?: string;
  dataDir?: string;
  listen?: string;
  portStart?: string;
  io?: string;
  json?: boolean;
}

/**
 * `comfy-cluster pm2`: writes a PM2 ecosystem file with one ComfyUI per GPU (comfyui-gpuN) and
 * prints the instances the gateway should register as remote.
 *
 * @example
 * // comfy-cluster pm2 --output ecosystem.config.cjs -- --preview-method auto
 * registerPm2Command(program);
 */
export function registerPm2Command(program: Command): void {
  program
    .command('pm2')
    .description('Write a PM2 ecosystem file: one ComfyUI per GPU, named comfyui-gpuN')
    .argument('[comfyui-args...]', 'extra ComfyUI flags for every instance (after --)')
    .option('--output <file>', 'ecosystem file to write', 'ecosystem.config.cjs')
    .option('--dir <dir>', 'ComfyUI folder (env COMFYUI_INSTALL_PATH)')
    .option('--data-dir <dir>', 'per-instance folders and logs (env COMFY_CLUSTER_DATA_DIR)')
    .option('--listen <address>', 'address each instance binds', '127.0.0.1')
    .option('--port-start <port>', 'port of GPU 0 (env COMFYUI_PORT_START, default 8188)')
    .option('--io <mode>', 'input/output folders: per-instance or shared', 'per-instance')
    .option('--json', 'print the instances to register as JSON')
    .addHelpText(
      'after',
      '\nExample:\n  NUM_GPUS=2 comfy-cluster pm2 --output ecosystem.config.cjs && pm2 start ecosystem.config.cjs\n',
    )
    .action(async (extraArgs: string[], opts: Pm2CommandOptions) => {
      try {
        if (opts.io !== 'per-instance' && opts.io !== 'shared') {
          throw new CliError(
            `--io must be "per-instance" or "shared" (got "${opts.io}")`,
            ExitCode.usage,
          );
        }
        let portStart: number | undefined;
        if (opts.portStart !== undefined) {
          portStart = Number(opts.portStart);
          if (!Number.isInteger(portStart) || portStart < 1 || portStart > 65535) {
            throw new CliError(
              `--port-start must be a port number (got "${opts.portStart}")`,
              ExitCode.usage,
            );
          }
        }
        const local = await planLocalFleet({
          ...(opts.dir ? { installDir: resolve(opts.dir) } : {}),
          ...(opts.dataDir ? { dataDir: resolve(opts.dataDir) } : {}),
          ...(opts.listen ? { listen: opts.listen } : {}),
          ...(portStart !== undefined ? { portStart } : {}),
          io: opts.io,
          extraArgs,
        });
        for (const warning of local.warnings) process.stderr.write(`warning: ${warning}\n`);
        // PM2 does not create folders, and ComfyUI refuses a --user-directory that does not exist.
        createInstanceDirs(local.plan.instances);
        const { ecosystem, remoteInstances } = pm2Ecosystem(local.plan.instances);
        const output = resolve(opts.output);
        await writeFile(output, renderEcosystemFile(ecosystem));
        if (opts.json) {
          process.stdout.write(
            `${JSON.stringify({ ecosystem_file: output, instances: remoteInstances }, null, 2)}\n`,
          );
          return;
        }
        process.stdout.write(`wrote ${output} (${ecosystem.apps.length} apps)\n`);
        for (const app of remoteInstances) {
          process.stdout.write(
            `  ${app.name}  http://${app.host}:${app.port}  ${app.description}\n`,
          );
        }
        process.stdout.write(`start them with: pm2 start ${output}\n`);
      } catch (error) {
        if (error instanceof PlanError) fail('pm2', new CliError(error.message, ExitCode.usage));
        fail('pm2', error);
      }
    });
}
