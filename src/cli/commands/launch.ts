import type { Command } from 'commander';
import {
  defaultInstallDir,
  installationStatus,
  type LocalFleetOptions,
  type LocalFleetPlan,
  PlanError,
  planLocalFleet,
  supervisorDataDir,
} from '../../supervisor/index.js';
import { CliError, ExitCode, fail } from '../cli-error.js';
import {
  addGatewayFlags,
  type GatewayFlags,
  gatewayOptionsFrom,
  runUntilSignal,
  startGatewayForCli,
} from './serve.js';

interface LaunchOptions extends GatewayFlags {
  installDir?: string;
  portStart?: string;
  gpus?: string;
  cpu?: boolean;
  io?: string;
  extraArgs?: string;
  emulate?: boolean;
}

function seconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function wholeNumber(flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) {
    throw new CliError(
      `${flag} must be a whole number from ${min} to ${max} (got "${text}")`,
      ExitCode.usage,
    );
  }
  return n;
}

/** The launch flags as planLocalFleet options; bad values are usage errors. */
function fleetOptions(opts: LaunchOptions): LocalFleetOptions {
  const fleet: LocalFleetOptions = {};
  if (opts.installDir !== undefined) fleet.installDir = opts.installDir;
  if (opts.portStart !== undefined) {
    fleet.portStart = wholeNumber('--port-start', opts.portStart, 1, 65535);
  }
  if (opts.gpus !== undefined) fleet.gpus = wholeNumber('--gpus', opts.gpus, 0, 64);
  if (opts.cpu === true) fleet.cpu = true;
  if (opts.io !== undefined) {
    if (opts.io !== 'shared' && opts.io !== 'per-instance') {
      throw new CliError(`--io must be shared or per-instance (got "${opts.io}")`, ExitCode.usage);
    }
    fleet.io = opts.io;
  }
  if (opts.extraArgs !== undefined) {
    fleet.extraArgs = opts.extraArgs.split(/\s+/).filter((a) => a !== '');
  }
  if (opts.emulate === true) fleet.emulate = true;
  return fleet;
}

function describeGpus(local: LocalFleetPlan): string {
  const { detection, plan } = local;
  const names = plan.instances.map((i) =>
    i.gpuIndex === null ? 'CPU' : `GPU ${i.gpuIndex} (${i.deviceName})`,
  );
  const where = local.emulated
    ? 'emulated'
    : detection.source === 'nvidia-smi'
      ? 'from nvidia-smi'
      : detection.source === 'num-gpus'
        ? 'NUM_GPUS'
        : detection.source === 'cpu-only'
          ? 'CPU only'
          : 'none found';
  const count = plan.instances.filter((i) => i.gpuIndex !== null).length;
  if (count === 0) {
    const why = local.emulated ? 'emulated' : (detection.reason ?? where);
    return `no GPU (${why}): one CPU instance`;
  }
  return `${count} GPU${count === 1 ? '' : 's'} (${where}): ${names.join(', ')}`;
}

/**
 * `comfy-cluster launch`: this machine's ComfyUI and the gateway in one process. Checks the
 * install (it does not install: `comfy-cluster install` does), plans one instance per GPU,
 * starts them and waits until they answer, then starts the gateway in front of them, printing
 * each step with its time. Ctrl-C stops the gateway and the instances gracefully (exit 0).
 * `--emulate` runs the project's emulator in ComfyUI's place (no install, no GPU needed).
 *
 * @example
 * // comfy-cluster launch --emulate --gpus 2
 * registerLaunchCommand(program);
 */
export function registerLaunchCommand(program: Command): void {
  const command = program
    .command('launch')
    .description('Start ComfyUI on every GPU of this machine and the gateway in front of them')
    .option('--install-dir <dir>', 'the ComfyUI install (env COMFYUI_INSTALL_PATH)')
    .option('--port-start <port>', 'port of GPU 0; GPU n gets port + n (env COMFYUI_PORT_START)')
    .option('--gpus <n>', 'plan this many GPUs whatever nvidia-smi says (env NUM_GPUS)')
    .option('--cpu', 'one CPU instance, no GPU (env COMFYUI_CPU_ONLY)')
    .option('--io <mode>', 'input/output folders: per-instance (default) or shared')
    .option('--extra-args <args>', 'more ComfyUI flags for every instance, e.g. "--lowvram"')
    .option('--emulate', "run the emulator in ComfyUI's place (no install or GPU needed)");
  addGatewayFlags(command, { logLevel: 'default warn, so the steps stay readable' })
    .addHelpText(
      'after',
      '\nExamples:\n  comfy-cluster install && comfy-cluster launch\n  comfy-cluster launch --gpus 2 --port-start 8188 --io shared\n  comfy-cluster launch --emulate --gpus 2\n',
    )
    .action(async (opts: LaunchOptions) => {
      const began = Date.now();
      let local: LocalFleetPlan;
      let options: ReturnType<typeof gatewayOptionsFrom>;
      try {
        options = gatewayOptionsFrom(opts);
        const fleet = fleetOptions(opts);
        // Steps are printed; the gateway's JSON lines only from warnings on unless asked for.
        if (opts.logLevel === undefined && !process.env.LOG_LEVEL) {
          options.flags = { ...options.flags, log_level: 'warn' };
        }
        const dataDir = opts.dataDir ?? supervisorDataDir(process.env);

        let t = Date.now();
        if (fleet.emulate) {
          say("✓ install check: skipped (--emulate: the emulator runs in ComfyUI's place)");
        } else {
          const installDir = fleet.installDir ?? defaultInstallDir(process.env);
          const status = await installationStatus(installDir);
          if (!status.installed || !status.python.present) {
            say(`✗ install check: ComfyUI is not ready in ${installDir}`);
            for (const p of status.problems) say(`    ${p}`);
            throw new CliError(
              `ComfyUI is not installed in ${installDir}: run \`comfy-cluster install --dir ${installDir}\` first (or try \`comfy-cluster launch --emulate\`)`,
              ExitCode.failed,
            );
          }
          const version = status.comfyui.version ?? status.comfyui.commit?.slice(0, 10) ?? '';
          say(
            `✓ install check: ComfyUI ${version} in ${installDir}, python ${status.python.version ?? '?'} (${seconds(Date.now() - t)})`,
          );
        }

        t = Date.now();
        local = await planLocalFleet({ ...fleet, dataDir });
        say(`✓ ${describeGpus(local)} (${seconds(Date.now() - t)})`);
        for (const w of local.warnings) say(`  ! ${w}`);
        say(`  starting ${local.plan.instances.length} instance(s)…`);
      } catch (err) {
        if (err instanceof PlanError) fail('launch', new CliError(err.message, ExitCode.usage));
        fail('launch', err);
      }

      const startedAt = Date.now();
      const gateway = await startGatewayForCli('launch', {
        ...options,
        local: {
          plan: local,
          onStatus: (change, state) => {
            if (change.status === 'running') {
              say(
                `✓ ${change.name} ready on ${state?.url ?? '?'} (pid ${state?.pid ?? '?'}, ${seconds(change.at - (state?.startedAt ?? startedAt))})`,
              );
            } else if (change.status === 'error') {
              say(`✗ ${change.name}: ${change.reason}`);
            } else if (change.status === 'starting' && change.previous === 'running') {
              say(`↻ ${change.name} ${change.reason}`);
            }
          },
        },
      });
      const managed = gateway.managed;
      const running = managed?.started.running ?? [];
      if (running.length === 0) {
        say('✗ no instance is running: stopping');
        await gateway.close();
        fail('launch', new CliError('no local ComfyUI instance could be started', ExitCode.failed));
      }
      say(
        `✓ gateway listening on ${gateway.url} with ${running.length} instance(s) (${seconds(Date.now() - began)} in all)`,
      );
      say(
        `  API docs ${gateway.url}/docs · health ${gateway.url}/health · dashboard ${gateway.url}/`,
      );
      say('  Ctrl-C stops the gateway and the instances.');
      await runUntilSignal('launch', gateway, {
        onStopping: (signal) =>
          say(
            `\n${signal}: stopping the gateway and ${managed?.supervisor.names().length ?? 0} instance(s)…`,
          ),
        onStopped: (ms) => {
          const left = managed?.supervisor.states().filter((s) => s.pid !== null) ?? [];
          say(
            left.length === 0
              ? `✓ stopped gracefully in ${seconds(ms)}; no instance left running`
              : `! stopped in ${seconds(ms)}; still running: ${left.map((s) => `${s.name} (pid ${s.pid})`).join(', ')}`,
          );
        },
      });
    });
}
