import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { CustomNodeSpec } from './custom-node-spec.js';
import { gitOutput } from './git.js';
import { InstallLockedError, InstallStepError } from './install-error.js';
import {
  emptyState,
  hashInputs,
  type InstallFailure,
  type InstallState,
  readInstallState,
  writeInstallState,
} from './install-state.js';
import {
  comfyuiStep,
  customNodeStep,
  DEFAULT_COMFYUI_REPO,
  DEFAULT_TORCH_INDEX,
  type InstallSettings,
  type InstallStep,
  modelPathsStep,
  requirementsStep,
  type StepContext,
  type TorchChoice,
  torchStep,
  validateStep,
  venvStep,
} from './install-steps.js';
import { isProcessAlive } from './process-tree.js';
import { pythonOutput } from './python-env.js';
import { formatCommand, runCommand } from './run-command.js';

/** Top-level folders that hold user data, never copied into a staging checkout but moved over. */
export const DATA_DIRS = ['models', 'input', 'output', 'temp', 'user'] as const;

/** Options of {@link installComfyUI}. Only `dir` is required. */
export interface InstallOptions {
  /** The ComfyUI checkout to create or update. */
  dir: string;
  /** Default https://github.com/Comfy-Org/ComfyUI.git */
  repo?: string;
  /** Branch, tag or commit. Default: the remote's default branch, pinned at first install. */
  ref?: string | null;
  /** Fetch and move to the newest commit of the ref (and of each custom node's ref). */
  update?: boolean;
  /** Interpreter for the venv. Default python3 (python on Windows). */
  python?: string;
  /** Default: CUDA wheels from {@link DEFAULT_TORCH_INDEX}. */
  torch?: TorchChoice;
  customNodes?: CustomNodeSpec[];
  /** Shared models folder for extra_model_paths.yaml; null/absent = none. */
  modelsPath?: string | null;
  /** Default true. False makes the venv without pip (offline tests). */
  venvWithPip?: boolean;
  /** Extra flags for the validation run. */
  validateArgs?: string[];
  /** Default 300000 ms. */
  validateTimeoutMs?: number;
  /** Default 30 minutes per command. */
  commandTimeoutMs?: number;
  /** Keep `<dir>.previous` (the install before an update) for a manual rollback. Default true. */
  keepPrevious?: boolean;
  onProgress?: (event: InstallProgress) => void;
  /** Output lines of the running command, for a verbose CLI. */
  onOutput?: (step: string, line: string) => void;
  signal?: AbortSignal;
}

/** Status of one step in a progress event. */
export type StepStatus = 'running' | 'done' | 'already-done' | 'failed';

/** One progress event: the CLI renders these (cli-progress), the API can stream them. */
export interface InstallProgress {
  step: string;
  /** 1-based position and count, for a progress bar. */
  index: number;
  total: number;
  status: StepStatus;
  message: string;
  /** Set once the step has finished (done, already-done or failed). */
  durationMs?: number;
}

/** What {@link installComfyUI} did. */
export interface InstallReport {
  dir: string;
  /**
   * `fresh`: built in place (nothing working was there). `update`: built in a staging copy and
   * switched in after validation. `unchanged`: everything was already done.
   */
  mode: 'fresh' | 'update' | 'unchanged';
  changed: boolean;
  /** The final event of each step. */
  steps: InstallProgress[];
  commit: string | null;
  durationMs: number;
}

/** The staging checkout of an update: a sibling of the install dir (same file system). */
export const stagingDir = (dir: string) => `${dir}.staging`;
/** The install before the last update, kept for a manual rollback. */
export const previousDir = (dir: string) => `${dir}.previous`;
const journalFile = (dir: string) => `${dir}.switch.json`;
const lockFile = (dir: string) => `${dir}.install.lock`;

function settingsFrom(options: InstallOptions): InstallSettings {
  return {
    repo: options.repo ?? DEFAULT_COMFYUI_REPO,
    ref: options.ref ?? null,
    update: options.update ?? false,
    python: options.python ?? (process.platform === 'win32' ? 'python' : 'python3'),
    torch: options.torch ?? { mode: 'cuda', indexUrl: DEFAULT_TORCH_INDEX },
    customNodes: options.customNodes ?? [],
    modelsPath: options.modelsPath ? resolve(options.modelsPath) : null,
    venvWithPip: options.venvWithPip ?? true,
    validateArgs: options.validateArgs ?? [],
    validateTimeoutMs: options.validateTimeoutMs ?? 300_000,
    commandTimeoutMs: options.commandTimeoutMs ?? 30 * 60_000,
  };
}

/** The ordered steps for these settings. */
export function installSteps(settings: InstallSettings): InstallStep[] {
  const before = [
    comfyuiStep,
    venvStep,
    torchStep,
    requirementsStep,
    ...settings.customNodes.map(customNodeStep),
    modelPathsStep,
  ];
  return [...before, validateStep(before)];
}

async function acquireLock(dir: string): Promise<() => Promise<void>> {
  const file = lockFile(dir);
  await mkdir(dirname(dir), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(file, `${process.pid}\n`, { flag: 'wx' });
      return () => rm(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (holder !== process.pid && isProcessAlive(holder)) {
        throw new InstallLockedError(
          `another install (pid ${holder}) is working on ${dir}; wait for it, or remove ${file} if that process is not comfy-cluster`,
        );
      }
      await rm(file, { force: true }); // stale: its owner is gone
    }
  }
  throw new InstallLockedError(`cannot take the install lock ${file}`);
}

function failureOf(step: string, error: unknown): InstallStepError {
  if (error instanceof InstallStepError) return error;
  return new InstallStepError(step, error instanceof Error ? error.message : String(error));
}

function toRecord(error: InstallStepError): InstallFailure {
  return {
    at: new Date().toISOString(),
    step: error.step,
    command: error.command,
    exit_code: error.exitCode,
    message: error.reason,
    output_tail: [...error.outputTail],
  };
}

class StepRunner {
  readonly ctx: StepContext;
  step = '';

  constructor(
    dir: string,
    state: InstallState,
    settings: InstallSettings,
    private readonly options: InstallOptions,
  ) {
    this.ctx = {
      dir,
      state,
      settings,
      run: async (command, args, runOptions = {}) => {
        const step = this.step;
        const shown = formatCommand(command, args);
        const result = await runCommand(command, args, {
          cwd: runOptions.cwd ?? dirname(dir),
          ...(runOptions.env ? { env: runOptions.env } : {}),
          timeoutMs: runOptions.timeoutMs ?? settings.commandTimeoutMs,
          onLine: (line) => {
            runOptions.onLine?.(line);
            this.options.onOutput?.(step, line);
          },
          ...(options.signal ? { signal: options.signal } : {}),
        }).catch((error: Error) => {
          throw new InstallStepError(step, `cannot run ${command}: ${error.message}`, shown);
        });
        if (result.code !== 0) {
          const why = result.timedOut
            ? `timed out after ${runOptions.timeoutMs ?? settings.commandTimeoutMs} ms`
            : options.signal?.aborted
              ? 'cancelled'
              : result.signal
                ? `killed by ${result.signal}`
                : 'the command failed';
          throw new InstallStepError(step, why, shown, result.code, result.tail);
        }
        return result;
      },
    };
  }

  /** Is this step done with these inputs and still true on disk? */
  async isDone(step: InstallStep): Promise<boolean> {
    this.step = step.name;
    const record = this.ctx.state.steps[step.name];
    if (!record) return false;
    if (record.inputs_hash !== hashInputs(await step.inputs(this.ctx))) return false;
    return step.verify(this.ctx, record);
  }
}

/** Index of the first step not done yet (checks only, nothing changes); null when all are. */
async function firstPending(runner: StepRunner, steps: InstallStep[]): Promise<number | null> {
  for (const [i, step] of steps.entries()) {
    if (!(await runner.isDone(step))) return i;
  }
  return null;
}

async function runSteps(
  runner: StepRunner,
  steps: InstallStep[],
  progress: (event: Omit<InstallProgress, 'total'>) => void,
  offset: number,
): Promise<boolean> {
  const { ctx } = runner;
  let changed = false;
  for (const [i, step] of steps.entries()) {
    const index = offset + i + 1;
    const started = Date.now();
    runner.step = step.name;
    progress({ step: step.name, index, status: 'running', message: 'checking' });
    try {
      const hash = hashInputs(await step.inputs(ctx));
      const record = ctx.state.steps[step.name];
      if (record && record.inputs_hash === hash && (await step.verify(ctx, record))) {
        progress({
          step: step.name,
          index,
          status: 'already-done',
          message: `already done: ${record.message}`,
          durationMs: Date.now() - started,
        });
        continue;
      }
      const outcome = await step.run(ctx);
      changed = true;
      ctx.state.steps[step.name] = {
        inputs_hash: hash,
        completed_at: new Date().toISOString(),
        duration_ms: Date.now() - started,
        facts: outcome.facts,
        message: outcome.message,
      };
      writeInstallState(ctx.dir, ctx.state);
      progress({
        step: step.name,
        index,
        status: 'done',
        message: outcome.message,
        durationMs: Date.now() - started,
      });
    } catch (error) {
      const failure = failureOf(step.name, error);
      ctx.state.last_error = toRecord(failure);
      if (existsSync(ctx.dir)) writeInstallState(ctx.dir, ctx.state);
      progress({
        step: step.name,
        index,
        status: 'failed',
        message: failure.reason,
        durationMs: Date.now() - started,
      });
      throw failure;
    }
  }
  return changed;
}

/** Copies a directory tree, sharing blocks where the file system can (reflink). */
async function copyTree(from: string, to: string): Promise<void> {
  if (process.platform === 'win32') {
    await cp(from, to, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
    return;
  }
  const args = process.platform === 'linux' ? ['-a', '--reflink=auto', from, to] : ['-a', from, to];
  const result = await runCommand('cp', args);
  if (result.code !== 0) {
    throw new InstallStepError(
      'stage',
      'copying the install failed',
      formatCommand('cp', args),
      result.code,
      result.tail,
    );
  }
}

function stagingMarker(live: InstallState | null): string {
  return live ? `${live.install_id}@${live.last_success?.at ?? 'none'}` : 'unmanaged-checkout';
}

/**
 * A staging copy of the live install: everything but the user-data folders (models, input,
 * output, temp, user), which stay put and are moved over at the switch. A staging copy left by
 * a failed update of the same install is resumed instead of copied again.
 */
async function prepareStaging(dir: string, live: InstallState | null): Promise<string> {
  const staging = stagingDir(dir);
  const marker = stagingMarker(live);
  if (existsSync(staging)) {
    if (readInstallState(staging)?.staged_from === marker)
      return 'resumed the staging copy of a failed update';
    await rm(staging, { recursive: true, force: true });
  }
  await mkdir(`${staging}.partial`, { recursive: true });
  for (const entry of await readdir(dir)) {
    if ((DATA_DIRS as readonly string[]).includes(entry)) continue;
    await copyTree(join(dir, entry), join(`${staging}.partial`, entry));
  }
  // Tracked placeholder files inside the data folders (models/checkpoints/put_here…) come back
  // from git, so the staging checkout is clean for the next checkout.
  for (const data of DATA_DIRS) {
    const tracked = await gitOutput(`${staging}.partial`, [
      'ls-tree',
      '--name-only',
      'HEAD',
      '--',
      data,
    ]);
    if (tracked) await gitOutput(`${staging}.partial`, ['checkout', 'HEAD', '--', data]);
  }
  const state = readInstallState(`${staging}.partial`) ?? emptyState();
  state.staged_from = marker;
  state.last_error = null;
  writeInstallState(`${staging}.partial`, state);
  // Only a complete copy becomes the staging dir (a copy cut short is started over).
  await rename(`${staging}.partial`, staging);
  return 'copied the install into a staging checkout';
}

/** Rewrites absolute staging paths that pip and venv wrote (script shebangs, .pth, pyvenv.cfg). */
async function fixVenvPaths(dir: string, staging: string): Promise<void> {
  const venv = join(dir, 'venv');
  const files: string[] = [join(venv, 'pyvenv.cfg')];
  for (const sub of ['bin', 'Scripts']) {
    try {
      for (const entry of await readdir(join(venv, sub))) files.push(join(venv, sub, entry));
    } catch {
      // layout of the other platform
    }
  }
  try {
    for (const lib of await readdir(join(venv, 'lib'))) {
      const site = join(venv, 'lib', lib, 'site-packages');
      for (const entry of await readdir(site).catch(() => [] as string[])) {
        if (entry.endsWith('.pth')) files.push(join(site, entry));
      }
    }
  } catch {
    // no lib folder
  }
  for (const file of files) {
    try {
      const info = await stat(file);
      if (!info.isFile() || info.size > 1024 * 1024) continue;
      const bytes = await readFile(file);
      if (bytes.includes(0)) continue; // binary
      const text = bytes.toString('utf8');
      if (!text.includes(staging)) continue;
      await writeFile(file, text.replaceAll(staging, dir));
    } catch {
      // unreadable entries are not ours to fix
    }
  }
}

/**
 * Completes a switch from staging to live, from wherever it stopped (each move is checked, so
 * this is safe to repeat after a crash): live → previous, user-data folders previous → staging,
 * staging → live.
 */
async function rollForwardSwitch(dir: string): Promise<void> {
  const staging = stagingDir(dir);
  const previous = previousDir(dir);
  let keepPrevious = true;
  try {
    keepPrevious =
      (JSON.parse(await readFile(journalFile(dir), 'utf8')) as { keep_previous?: boolean })
        .keep_previous !== false;
  } catch {
    // no journal: keep
  }
  if (existsSync(staging)) {
    if (existsSync(dir)) {
      await rm(previous, { recursive: true, force: true });
      await rename(dir, previous);
    }
    for (const data of DATA_DIRS) {
      if (!existsSync(join(previous, data))) continue;
      await rm(join(staging, data), { recursive: true, force: true });
      await rename(join(previous, data), join(staging, data));
    }
    await rename(staging, dir);
  }
  await fixVenvPaths(dir, staging);
  if (!keepPrevious) await rm(previous, { recursive: true, force: true });
  await rm(journalFile(dir), { force: true });
}

/** Finishes a switch a crash interrupted; true when there was one. */
export async function finishInterruptedSwitch(dir: string): Promise<boolean> {
  if (!existsSync(journalFile(dir))) return false;
  await rollForwardSwitch(dir);
  return true;
}

function summaryHash(state: InstallState, steps: InstallStep[]): string {
  return hashInputs(steps.map((s) => state.steps[s.name]?.inputs_hash ?? null));
}

/**
 * Installs or updates ComfyUI in `options.dir`: clone (or move an existing checkout to the ref),
 * venv, torch, requirements.txt, each custom node (clone, requirements.txt, install.py),
 * extra_model_paths.yaml, and a validation run of `main.py --quick-test-for-ci`.
 *
 * - Idempotent: each completed step is recorded (with a hash of its inputs) in
 *   `<dir>/.comfy-cluster/install-state.json`; a second run reports "already done" and changes
 *   nothing.
 * - Resumable: a failed first install keeps what it finished; the next run continues there.
 * - Safe updates: once an install has validated, changes are built in `<dir>.staging` (a copy
 *   without the user-data folders), validated there, and only then switched in by renames (the
 *   old install is kept as `<dir>.previous`). A failed update leaves the live install untouched
 *   and is resumed from its staging copy by the next run.
 * - A failure throws {@link InstallStepError} naming the step, the command and its last output.
 *
 * @example
 * const report = await installComfyUI({
 *   dir: '/opt/ComfyUI', ref: 'v0.3.64', customNodes: [parseCustomNodeSpec('ltdrdata/ComfyUI-Impact-Pack')],
 *   modelsPath: '/mnt/models', onProgress: (e) => console.log(e.index, e.total, e.step, e.status, e.message),
 * });
 */
export async function installComfyUI(options: InstallOptions): Promise<InstallReport> {
  const dir = resolve(options.dir);
  const settings = settingsFrom(options);
  const started = Date.now();
  const steps = installSteps(settings);
  const finals = new Map<string, InstallProgress>();
  let total = steps.length;
  const emit = (event: Omit<InstallProgress, 'total'>) => {
    const full = { ...event, total };
    if (event.status !== 'running') finals.set(event.step, full);
    options.onProgress?.(full);
  };
  const report = (
    mode: InstallReport['mode'],
    changed: boolean,
    state: InstallState,
  ): InstallReport => ({
    dir,
    mode,
    changed,
    steps: [...finals.values()],
    commit: (state.steps.comfyui?.facts.commit as string | undefined) ?? null,
    durationMs: Date.now() - started,
  });

  const release = await acquireLock(dir);
  try {
    // Resolve launchers (pyenv shims, the Windows py launcher) to the real interpreter once:
    // later checks start it directly, and the venv step notices a real interpreter change.
    const executable = await pythonOutput(settings.python, 'import sys; print(sys.executable)');
    if (executable) settings.python = executable;
    await finishInterruptedSwitch(dir);
    const live = readInstallState(dir);
    const working =
      existsSync(join(dir, 'main.py')) && (live === null || live.last_success !== null);

    if (!working) {
      await mkdir(dir, { recursive: true });
      const state = live ?? emptyState();
      const runner = new StepRunner(dir, state, settings, options);
      const changed = await runSteps(runner, steps, emit, 0);
      state.last_success = {
        at: new Date().toISOString(),
        commit: String(state.steps.comfyui?.facts.commit ?? ''),
        inputs_hash: summaryHash(state, steps),
      };
      state.last_error = null;
      writeInstallState(dir, state);
      return report('fresh', changed, state);
    }

    // A working install: find out (read-only) whether anything is to do at all.
    const liveRunner = new StepRunner(dir, live ?? emptyState(), settings, options);
    let pending: number | null;
    try {
      pending = await firstPending(liveRunner, steps);
    } catch (error) {
      throw failureOf(liveRunner.step, error);
    }
    if (pending === null && live !== null) {
      const at = Date.now();
      steps.forEach((step, i) => {
        emit({
          step: step.name,
          index: i + 1,
          status: 'already-done',
          message: `already done: ${live.steps[step.name]?.message ?? ''}`,
          durationMs: i === 0 ? at - started : 0,
        });
      });
      return report('unchanged', false, live);
    }

    total = steps.length + 2;
    let t = Date.now();
    emit({ step: 'stage', index: 1, status: 'running', message: `preparing ${stagingDir(dir)}` });
    let stageMessage: string;
    try {
      stageMessage = await prepareStaging(dir, live);
    } catch (error) {
      const failure = failureOf('stage', error);
      emit({
        step: 'stage',
        index: 1,
        status: 'failed',
        message: failure.reason,
        durationMs: Date.now() - t,
      });
      throw failure;
    }
    emit({
      step: 'stage',
      index: 1,
      status: 'done',
      message: stageMessage,
      durationMs: Date.now() - t,
    });

    const staged = readInstallState(stagingDir(dir)) ?? emptyState();
    const runner = new StepRunner(stagingDir(dir), staged, settings, options);
    try {
      await runSteps(runner, steps, emit, 1);
    } catch (error) {
      // The live install keeps running as it was; record why the update did not happen.
      if (live) {
        live.last_error = toRecord(failureOf(runner.step, error));
        writeInstallState(dir, live);
      }
      throw error;
    }

    t = Date.now();
    const switchIndex = steps.length + 2;
    emit({
      step: 'switch',
      index: switchIndex,
      status: 'running',
      message: 'switching to the validated install',
    });
    staged.staged_from = null;
    staged.last_error = null;
    staged.last_success = {
      at: new Date().toISOString(),
      commit: String(staged.steps.comfyui?.facts.commit ?? ''),
      inputs_hash: summaryHash(staged, steps),
    };
    writeInstallState(stagingDir(dir), staged);
    await writeFile(
      journalFile(dir),
      `${JSON.stringify({ started_at: new Date().toISOString(), keep_previous: options.keepPrevious ?? true })}\n`,
    );
    await rollForwardSwitch(dir);
    emit({
      step: 'switch',
      index: switchIndex,
      status: 'done',
      message: `switched; the previous install is ${options.keepPrevious === false ? 'removed' : `kept in ${previousDir(dir)}`} (restart running instances to use the new one)`,
      durationMs: Date.now() - t,
    });
    return report('update', true, staged);
  } finally {
    await release();
  }
}
