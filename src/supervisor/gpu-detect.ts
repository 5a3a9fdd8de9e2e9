import { execFile } from 'node:child_process';
import { parseBooleanEnv, parseIntegerEnv } from './supervisor-env.js';

/** One NVIDIA GPU as nvidia-smi reports it. `index` is nvidia-smi's (PCI bus) numbering. */
export interface GpuInfo {
  index: number;
  name: string;
  /** MiB; null when nvidia-smi prints [N/A]. */
  memoryTotalMiB: number | null;
  /** MiB; null when nvidia-smi prints [N/A]. */
  memoryUsedMiB: number | null;
}

/** Result of {@link parseNvidiaSmiCsv}: the GPUs plus every line that could not be read. */
export interface NvidiaSmiParse {
  gpus: GpuInfo[];
  /** Human-readable problems (line number and text); empty when all lines parsed. */
  problems: string[];
  /** Set when the output is nvidia-smi's "No devices were found". */
  noDevices: boolean;
}

/** Where the GPU list came from. */
export type GpuSource = 'nvidia-smi' | 'num-gpus' | 'cpu-only' | 'none';

/** What {@link detectGpus} found and why. */
export interface GpuDetection {
  /** The GPUs to plan instances for (after NUM_GPUS / COMFYUI_CPU_ONLY). */
  gpus: GpuInfo[];
  /** What nvidia-smi itself reported (empty when it was not run or failed). */
  detected: GpuInfo[];
  source: GpuSource;
  /** COMFYUI_CPU_ONLY was set: plan one CPU instance. */
  cpuOnly: boolean;
  /** Why the list is empty or differs from nvidia-smi, in words an operator understands. */
  reason?: string;
  /** Bad environment values and parse problems; never fatal. */
  warnings: string[];
}

/** The exact query the detector runs. */
export const NVIDIA_SMI_ARGS = [
  '--query-gpu=index,name,memory.total,memory.used',
  '--format=csv,noheader,nounits',
] as const;

function parseMiB(field: string): number | null {
  const value = field.trim();
  if (!/^\d+(\.\d+)?$/.test(value)) return null;
  return Math.round(Number(value));
}

/**
 * Parses the output of `nvidia-smi --query-gpu=index,name,memory.total,memory.used
 * --format=csv,noheader,nounits`. Pure: no I/O. Accepts CRLF, uneven padding, blank lines and
 * `[N/A]` memory; a GPU name containing commas is kept whole (index first, the two memory
 * columns last). Result is sorted by index.
 *
 * @example
 * parseNvidiaSmiCsv('0, NVIDIA GeForce RTX 4090, 24564, 1\n').gpus
 * // [{ index: 0, name: 'NVIDIA GeForce RTX 4090', memoryTotalMiB: 24564, memoryUsedMiB: 1 }]
 */
export function parseNvidiaSmiCsv(output: string): NvidiaSmiParse {
  const gpus: GpuInfo[] = [];
  const problems: string[] = [];
  let noDevices = false;
  const lines = output.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    if (/^no devices were found/i.test(line)) {
      noDevices = true;
      return;
    }
    const fields = line.split(',');
    if (fields.length < 4) {
      problems.push(`line ${i + 1}: expected "index, name, memory.total, memory.used": ${line}`);
      return;
    }
    const indexText = fields[0]?.trim() ?? '';
    if (!/^\d+$/.test(indexText)) {
      problems.push(`line ${i + 1}: GPU index is not a number: ${line}`);
      return;
    }
    const used = fields[fields.length - 1] ?? '';
    const total = fields[fields.length - 2] ?? '';
    const name = fields.slice(1, -2).join(',').trim();
    gpus.push({
      index: Number(indexText),
      name: name === '' ? 'unknown' : name,
      memoryTotalMiB: parseMiB(total),
      memoryUsedMiB: parseMiB(used),
    });
  });
  gpus.sort((a, b) => a.index - b.index);
  return { gpus, problems, noDevices };
}

/** Options of {@link detectGpus}. */
export interface DetectGpusOptions {
  /** Environment to read NUM_GPUS and COMFYUI_CPU_ONLY from. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Default "nvidia-smi" (looked up on PATH). */
  nvidiaSmiPath?: string;
  /** Default 15000 ms; a hung driver must not hang the start-up. */
  timeoutMs?: number;
}

interface SmiRun {
  ok: boolean;
  output: string;
  failure?: string;
}

function runNvidiaSmi(path: string, timeoutMs: number): Promise<SmiRun> {
  return new Promise((resolve) => {
    execFile(
      path,
      [...NVIDIA_SMI_ARGS],
      { timeout: timeoutMs, encoding: 'utf8', windowsHide: true },
      (error, stdout, stderr) => {
        const output = `${stdout}${stderr ? `\n${stderr}` : ''}`;
        if (!error) return resolve({ ok: true, output });
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') {
          return resolve({ ok: false, output, failure: `${path} not found (no NVIDIA driver?)` });
        }
        if (error.killed) {
          return resolve({ ok: false, output, failure: `${path} timed out after ${timeoutMs} ms` });
        }
        const firstLine = output.split(/\r?\n/).find((l) => l.trim() !== '') ?? error.message;
        resolve({
          ok: false,
          output,
          failure: `${path} failed (exit ${String(code)}): ${firstLine}`,
        });
      },
    );
  });
}

/**
 * Finds the GPUs to run instances on: COMFYUI_CPU_ONLY=true → none (CPU instance); otherwise
 * nvidia-smi's list (absent binary or failure → none, with the reason), cut or padded to NUM_GPUS
 * when that is set. Never throws.
 *
 * @example
 * const found = await detectGpus();
 * if (found.gpus.length === 0) console.warn(found.reason);
 */
export async function detectGpus(options: DetectGpusOptions = {}): Promise<GpuDetection> {
  const env = options.env ?? process.env;
  const warnings: string[] = [];
  const cpuOnly = parseBooleanEnv('COMFYUI_CPU_ONLY', env.COMFYUI_CPU_ONLY, warnings) ?? false;
  const numGpus = parseIntegerEnv('NUM_GPUS', env.NUM_GPUS, warnings, { min: 0, max: 64 });
  if (cpuOnly) {
    return {
      gpus: [],
      detected: [],
      source: 'cpu-only',
      cpuOnly: true,
      reason: 'COMFYUI_CPU_ONLY is set: one CPU instance, GPUs not queried',
      warnings,
    };
  }

  const smiPath = options.nvidiaSmiPath ?? 'nvidia-smi';
  const run = await runNvidiaSmi(smiPath, options.timeoutMs ?? 15_000);
  const parsed = parseNvidiaSmiCsv(run.output);
  let detected: GpuInfo[] = [];
  let reason: string | undefined;
  if (run.ok) {
    detected = parsed.gpus;
    warnings.push(...parsed.problems.map((p) => `nvidia-smi output ${p}`));
    if (detected.length === 0) reason = 'nvidia-smi: No devices were found';
  } else if (parsed.noDevices) {
    reason = 'nvidia-smi: No devices were found';
  } else {
    reason = run.failure ?? 'nvidia-smi failed';
  }

  if (numGpus === undefined) {
    return {
      gpus: detected,
      detected,
      source: detected.length > 0 ? 'nvidia-smi' : 'none',
      cpuOnly: false,
      ...(reason === undefined ? {} : { reason }),
      warnings,
    };
  }

  // NUM_GPUS wins: keep the first N found, and fill in indices nvidia-smi could not show (a
  // container without nvidia-smi, say) so the operator's count is honoured.
  const gpus: GpuInfo[] = detected.slice(0, numGpus);
  for (let index = 0; gpus.length < numGpus; index++) {
    if (gpus.some((g) => g.index === index)) continue;
    gpus.push({ index, name: 'unknown (NUM_GPUS)', memoryTotalMiB: null, memoryUsedMiB: null });
  }
  gpus.sort((a, b) => a.index - b.index);
  if (run.ok && detected.length < numGpus) {
    warnings.push(
      `NUM_GPUS=${numGpus} but nvidia-smi reported ${detected.length} GPU(s); planning ${numGpus} anyway`,
    );
  }
  const why =
    numGpus === 0
      ? 'NUM_GPUS=0: no GPU instances'
      : detected.length === numGpus
        ? undefined
        : `NUM_GPUS=${numGpus} overrides the ${detected.length} GPU(s) nvidia-smi reported${reason ? ` (${reason})` : ''}`;
  return {
    gpus,
    detected,
    source: 'num-gpus',
    cpuOnly: false,
    ...(why === undefined ? {} : { reason: why }),
    warnings,
  };
}
