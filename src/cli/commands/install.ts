import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import {
  type InstallFlags,
  InstallLockedError,
  InstallOptionsError,
  type InstallProgress,
  InstallStepError,
  installComfyUI,
  resolveInstallOptions,
} from '../../supervisor/index.js';
import { CliError, ExitCode, fail } from '../cli-error.js';

interface InstallCommandOptions extends InstallFlags {
  verbose?: boolean;
}

function seconds(ms: number | undefined): string {
  return ms === undefined ? '' : ` (${(ms / 1000).toFixed(1)} s)`;
}

/** Renders install progress: a bar on a terminal, one plain line per finished step otherwise. */
function progressPrinter(): { onProgress: (e: InstallProgress) => void; stop: () => void } {
  const bar = process.stderr.isTTY
    ? new cliProgress.SingleBar(
        { format: 'install [{bar}] {value}/{total} {step}', stream: process.stderr },
        cliProgress.Presets.shades_classic,
      )
    : null;
  let started = false;
  const line = (text: string) => {
    if (bar) bar.stop();
    process.stdout.write(`${text}\n`);
    started = false;
  };
  return {
    onProgress: (e) => {
      if (e.status === 'running') {
        if (bar) {
          if (!started) bar.start(e.total, e.index - 1, { step: e.step });
          else bar.update(e.index - 1, { step: e.step });
          started = true;
        }
        return;
      }
      const mark = e.status === 'failed' ? '✗' : e.status === 'already-done' ? '=' : '✓';
      line(`${mark} [${e.index}/${e.total}] ${e.step}: ${e.message}${seconds(e.durationMs)}`);
    },
    stop: () => bar?.stop(),
  };
}

/**
 * `comfy-cluster install`: ComfyUI, its venv, torch, requirements and custom nodes, validated by
 * ComfyUI's own quick start check. Idempotent and resumable.
 *
 * @example
 * // comfy-cluster install --dir /opt/ComfyUI --cpu --custom-nodes https://host/a/pack.git@v1
 * registerInstallCommand(program);
 */
export function registerInstallCommand(program: Command): void {
  program
    .command('install')
    .description('Install or update ComfyUI with a venv, torch and custom nodes, then validate it')
    .option('--dir <dir>', 'ComfyUI folder (env COMFYUI_INSTALL_PATH)')
    .option('--repo <url>', 'ComfyUI git repository')
    .option('--ref <ref>', 'branch, tag or commit to check out')
    .option('--update', 'move to the newest commit of the ref (staged, switched after validation)')
    .option('--python <path>', 'Python interpreter for the venv (default python3)')
    .option('--torch-index <url>', 'PyTorch wheel index (default: CUDA wheels)')
    .option('--cpu', 'install the CPU build of PyTorch (env COMFYUI_CPU_ONLY)')
    .option('--skip-torch', 'do not install PyTorch (already provided)')
    .option('--custom-nodes <list>', 'comma-separated git URLs, each optionally @ref')
    .option('--custom-nodes-file <file>', 'one custom node per line')
    .option('--models-path <dir>', 'shared models folder for extra_model_paths.yaml')
    .option('--no-keep-previous', 'after an update, delete the previous install')
    .option('--verbose', 'stream the output of every command')
    .addHelpText(
      'after',
      '\nExample:\n  comfy-cluster install --dir ~/ComfyUI --cpu --models-path /mnt/models\n',
    )
    .action(async (opts: InstallCommandOptions) => {
      const { verbose, ...flags } = opts;
      let resolved: Awaited<ReturnType<typeof resolveInstallOptions>>;
      try {
        resolved = await resolveInstallOptions(flags);
      } catch (error) {
        if (error instanceof InstallOptionsError) {
          fail('install', new CliError(error.message, ExitCode.usage));
        }
        fail('install', error);
      }
      for (const warning of resolved.warnings) process.stderr.write(`warning: ${warning}\n`);
      const printer = progressPrinter();
      try {
        const report = await installComfyUI({
          ...resolved.options,
          onProgress: printer.onProgress,
          ...(verbose
            ? {
                onOutput: (step: string, line: string) =>
                  process.stdout.write(`  ${step}| ${line}\n`),
              }
            : {}),
        });
        printer.stop();
        const what =
          report.mode === 'unchanged'
            ? 'already installed, nothing changed'
            : report.mode === 'update'
              ? 'updated'
              : 'installed';
        process.stdout.write(
          `ComfyUI ${what} in ${report.dir}` +
            `${report.commit ? ` at ${report.commit.slice(0, 12)}` : ''}${seconds(report.durationMs)}\n`,
        );
      } catch (error) {
        printer.stop();
        if (error instanceof InstallStepError || error instanceof InstallLockedError) {
          fail('install', new CliError(error.message, ExitCode.failed));
        }
        fail('install', error);
      }
    });
}
