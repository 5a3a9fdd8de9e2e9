import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import envPaths from 'env-paths';
import { type CustomNodeSpec, parseCustomNodeList } from './custom-node-spec.js';
import { CPU_TORCH_INDEX, DEFAULT_TORCH_INDEX, type TorchChoice } from './install-steps.js';
import type { InstallOptions } from './installer.js';
import { readSupervisorEnv } from './supervisor-env.js';

/** The `comfy-cluster install` flags, as commander hands them over (camelCase). */
export interface InstallFlags {
  dir?: string;
  repo?: string;
  ref?: string;
  python?: string;
  torchIndex?: string;
  cpu?: boolean;
  skipTorch?: boolean;
  /** Comma-separated entries. */
  customNodes?: string;
  /** One entry per line (`#` comments allowed). */
  customNodesFile?: string;
  modelsPath?: string;
  update?: boolean;
  keepPrevious?: boolean;
}

/** Bad flags: the CLI prints the message and exits 2. */
export class InstallOptionsError extends Error {
  override readonly name = 'InstallOptionsError';
}

/**
 * The comfy-cluster data dir: COMFY_CLUSTER_DATA_DIR, else the platform data dir (Linux
 * ~/.local/share/comfy-cluster). Holds instances/, logs/ and run/ of managed instances.
 */
export function supervisorDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const override = env.COMFY_CLUSTER_DATA_DIR?.trim();
  return override ? resolve(override) : envPaths('comfy-cluster', { suffix: '' }).data;
}

/** Default ComfyUI checkout: COMFYUI_INSTALL_PATH, else `<data dir>/ComfyUI`. */
export function defaultInstallDir(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env.COMFYUI_INSTALL_PATH?.trim();
  return configured ? resolve(configured) : join(supervisorDataDir(env), 'ComfyUI');
}

/** Result of {@link resolveInstallOptions}. */
export interface ResolvedInstall {
  options: InstallOptions;
  /** ENABLE_COMFYUI (default true): `launch` skips install and local instances when false. */
  enabled: boolean;
  /** Unreadable environment values, named; print them, never drop them silently. */
  warnings: string[];
}

/**
 * Turns `install` flags and the environment into {@link InstallOptions}. Precedence: flags >
 * environment (COMFYUI_INSTALL_PATH, COMFYUI_CUSTOM_NODES, COMFYUI_MODELS_PATH, COMFYUI_CPU_ONLY)
 * > defaults. Throws {@link InstallOptionsError} for contradicting or unreadable flags.
 *
 * @example
 * const { options, warnings } = await resolveInstallOptions({ cpu: true, customNodes: 'a/b@v1' });
 * await installComfyUI({ ...options, onProgress });
 */
export async function resolveInstallOptions(
  flags: InstallFlags,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ResolvedInstall> {
  const { values, warnings } = readSupervisorEnv(env);

  const torchFlags = [
    flags.torchIndex !== undefined && '--torch-index',
    flags.cpu && '--cpu',
    flags.skipTorch && '--skip-torch',
  ].filter(Boolean);
  if (torchFlags.length > 1) {
    throw new InstallOptionsError(`choose one of ${torchFlags.join(', ')}`);
  }
  let torch: TorchChoice;
  if (flags.skipTorch) torch = { mode: 'skip' };
  else if (flags.cpu) torch = { mode: 'cpu', indexUrl: CPU_TORCH_INDEX };
  else if (flags.torchIndex !== undefined) {
    if (!/^https?:\/\/\S+$/.test(flags.torchIndex)) {
      throw new InstallOptionsError(
        `--torch-index ${JSON.stringify(flags.torchIndex)} is not an http(s) URL`,
      );
    }
    torch = { mode: 'cuda', indexUrl: flags.torchIndex };
  } else if (values.cpuOnly) torch = { mode: 'cpu', indexUrl: CPU_TORCH_INDEX };
  else torch = { mode: 'cuda', indexUrl: DEFAULT_TORCH_INDEX };

  if (flags.customNodes !== undefined && flags.customNodesFile !== undefined) {
    throw new InstallOptionsError('choose one of --custom-nodes, --custom-nodes-file');
  }
  let customNodes: CustomNodeSpec[] = values.customNodes ?? [];
  if (flags.customNodes !== undefined || flags.customNodesFile !== undefined) {
    let text: string;
    let source: string;
    if (flags.customNodesFile !== undefined) {
      source = flags.customNodesFile;
      try {
        text = await readFile(flags.customNodesFile, 'utf8');
      } catch (error) {
        throw new InstallOptionsError(
          `cannot read --custom-nodes-file ${flags.customNodesFile}: ${(error as Error).message}`,
        );
      }
    } else {
      source = '--custom-nodes';
      text = flags.customNodes ?? '';
    }
    const list = parseCustomNodeList(text, source);
    if (list.errors.length > 0) throw new InstallOptionsError(list.errors.join('\n'));
    customNodes = list.specs;
  }

  if (flags.ref !== undefined && (flags.ref.trim() === '' || flags.ref.startsWith('-'))) {
    throw new InstallOptionsError(`--ref ${JSON.stringify(flags.ref)} is not a usable git ref`);
  }
  const modelsPath = flags.modelsPath ?? values.modelsPath ?? null;
  const options: InstallOptions = {
    dir: flags.dir
      ? resolve(flags.dir)
      : values.installPath
        ? resolve(values.installPath)
        : defaultInstallDir(env),
    torch,
    customNodes,
    modelsPath: modelsPath === null ? null : resolve(modelsPath),
    update: flags.update ?? false,
  };
  if (flags.repo !== undefined) options.repo = flags.repo;
  if (flags.ref !== undefined) options.ref = flags.ref;
  if (flags.python !== undefined) options.python = flags.python;
  if (flags.keepPrevious !== undefined) options.keepPrevious = flags.keepPrevious;
  return { options, enabled: values.enableComfyui ?? true, warnings };
}
