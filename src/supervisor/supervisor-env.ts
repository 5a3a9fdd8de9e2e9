import {
  type CustomNodeSpec,
  type CustomNodeSpecOptions,
  parseCustomNodeList,
} from './custom-node-spec.js';

/** The supervisor's environment variables, read and checked. Unset → undefined. */
export interface SupervisorEnv {
  /** ENABLE_COMFYUI: install and run local ComfyUI instances at all. */
  enableComfyui?: boolean;
  /** NUM_GPUS: how many GPUs to plan instances for (overrides nvidia-smi). */
  numGpus?: number;
  /** COMFYUI_CPU_ONLY: one CPU instance, no GPU query (development machines). */
  cpuOnly?: boolean;
  /** COMFYUI_PORT_START: port of GPU 0's instance (default 8188). */
  portStart?: number;
  /** COMFYUI_CUSTOM_NODES: comma-separated git URLs or owner/repo[@ref]. */
  customNodes?: CustomNodeSpec[];
  /** COMFYUI_MODELS_PATH: shared models folder written into extra_model_paths.yaml. */
  modelsPath?: string;
  /** COMFYUI_INSTALL_PATH: the ComfyUI checkout. */
  installPath?: string;
}

/** What {@link readSupervisorEnv} returns: values plus a clear warning per unusable value. */
export interface SupervisorEnvResult {
  values: SupervisorEnv;
  /** e.g. `COMFYUI_PORT_START="81x8" ignored: expected an integer from 1 to 65535`. */
  warnings: string[];
}

/** Reads a boolean env value; undefined when unset, a warning when unreadable. */
export function parseBooleanEnv(
  name: string,
  value: string | undefined,
  warnings: string[],
): boolean | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const v = value.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  warnings.push(`${name}=${JSON.stringify(value)} ignored: expected true or false`);
  return undefined;
}

/** Reads an integer env value in a range; undefined when unset, a warning when unreadable. */
export function parseIntegerEnv(
  name: string,
  value: string | undefined,
  warnings: string[],
  range: { min: number; max: number },
): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const v = value.trim();
  if (!/^\d+$/.test(v) || Number(v) < range.min || Number(v) > range.max) {
    warnings.push(
      `${name}=${JSON.stringify(value)} ignored: expected an integer from ${range.min} to ${range.max}`,
    );
    return undefined;
  }
  return Number(v);
}

function readPath(value: string | undefined): string | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  return value.trim();
}

/**
 * Reads ENABLE_COMFYUI, NUM_GPUS, COMFYUI_CPU_ONLY, COMFYUI_PORT_START, COMFYUI_CUSTOM_NODES,
 * COMFYUI_MODELS_PATH and COMFYUI_INSTALL_PATH. Never throws: an unreadable value is left
 * unset and named in `warnings` (variable, entry position, what was expected).
 *
 * @example
 * const { values, warnings } = readSupervisorEnv(process.env);
 * for (const w of warnings) log.warn(w);
 */
export function readSupervisorEnv(
  env: NodeJS.ProcessEnv = process.env,
  options: CustomNodeSpecOptions = {},
): SupervisorEnvResult {
  const warnings: string[] = [];
  const values: SupervisorEnv = {};
  const enable = parseBooleanEnv('ENABLE_COMFYUI', env.ENABLE_COMFYUI, warnings);
  if (enable !== undefined) values.enableComfyui = enable;
  const numGpus = parseIntegerEnv('NUM_GPUS', env.NUM_GPUS, warnings, { min: 0, max: 64 });
  if (numGpus !== undefined) values.numGpus = numGpus;
  const cpuOnly = parseBooleanEnv('COMFYUI_CPU_ONLY', env.COMFYUI_CPU_ONLY, warnings);
  if (cpuOnly !== undefined) values.cpuOnly = cpuOnly;
  const portStart = parseIntegerEnv('COMFYUI_PORT_START', env.COMFYUI_PORT_START, warnings, {
    min: 1,
    max: 65535,
  });
  if (portStart !== undefined) values.portStart = portStart;
  if (env.COMFYUI_CUSTOM_NODES !== undefined && env.COMFYUI_CUSTOM_NODES.trim() !== '') {
    const list = parseCustomNodeList(env.COMFYUI_CUSTOM_NODES, 'COMFYUI_CUSTOM_NODES', options);
    values.customNodes = list.specs;
    warnings.push(...list.errors);
  }
  const models = readPath(env.COMFYUI_MODELS_PATH);
  if (models !== undefined) values.modelsPath = models;
  const install = readPath(env.COMFYUI_INSTALL_PATH);
  if (install !== undefined) values.installPath = install;
  return { values, warnings };
}
