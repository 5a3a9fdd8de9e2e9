import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { readGitHead } from './git.js';
import { type InstallFailure, readInstallState } from './install-state.js';
import { previousDir, stagingDir } from './installer.js';
import { venvPython } from './instance-plan.js';
import { torchVersionOnDisk, venvPythonVersion } from './python-env.js';

/** One custom node pack as installed. */
export interface CustomNodeStatus {
  name: string;
  url: string | null;
  ref: string | null;
  /** Commit checked out now (null: folder missing or not a git checkout). */
  commit: string | null;
  /** Commit the installer recorded; differs from `commit` when someone moved it since. */
  installed_commit: string | null;
  /** false for folders in custom_nodes/ that the installer did not put there. */
  managed: boolean;
}

/**
 * What GET /health/comfyui/installation shows (snake_case, as every HTTP surface). Read from the
 * state file and the disk only: no process is started, so it is cheap to poll.
 */
export interface InstallationStatus {
  install_dir: string;
  /** main.py present and a complete install (with validation) recorded. */
  installed: boolean;
  comfyui: {
    repo: string | null;
    ref: string | null;
    commit: string | null;
    version: string | null;
  };
  python: { path: string; present: boolean; version: string | null };
  torch: { present: boolean; version: string | null; mode: string | null };
  custom_nodes: CustomNodeStatus[];
  models_path: string | null;
  validation: { ok: boolean; at: string; duration_ms: number; output_tail: string[] } | null;
  last_success_at: string | null;
  last_error: InstallFailure | null;
  update: {
    /** A staging checkout exists: an update failed (the next install resumes it) or runs now. */
    staging: boolean;
    /** An earlier install is kept for rollback at `<dir>.previous`. */
    previous_kept: boolean;
    /** An install process holds the lock now. */
    in_progress: boolean;
  };
  /** Plain-words findings an operator should act on; empty when all is well. */
  problems: string[];
}

async function fileVersion(dir: string): Promise<string | null> {
  try {
    const text = await readFile(join(dir, 'comfyui_version.py'), 'utf8');
    return /__version__\s*=\s*["']([^"']+)["']/.exec(text)?.[1] ?? null;
  } catch {
    return null;
  }
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/**
 * The installation state of ComfyUI in `dir`, for /health/comfyui/installation, the CLI and the
 * launch check. Never throws: an absent install is `installed: false` with a problem saying so.
 *
 * @example
 * const status = await installationStatus('/opt/ComfyUI');
 * if (!status.installed) console.error(status.problems.join('\n'));
 */
export async function installationStatus(dir: string): Promise<InstallationStatus> {
  const root = resolve(dir);
  const state = readInstallState(root);
  const problems: string[] = [];
  const hasMain = existsSync(join(root, 'main.py'));
  const commit = await readGitHead(root);
  const steps = state?.steps ?? {};
  const installedCommit = str(steps.comfyui?.facts.commit);

  const python = venvPython(root);
  const pythonPresent = existsSync(python);
  const torchVersion = await torchVersionOnDisk(join(root, 'venv'));
  const torchMode = str(steps.torch?.facts.mode);

  const nodes: CustomNodeStatus[] = [];
  const recorded = Object.entries(steps)
    .filter(([name]) => name.startsWith('custom-node:'))
    .map(([name, record]) => ({ name: name.slice('custom-node:'.length), facts: record.facts }));
  for (const { name, facts } of recorded) {
    const head = await readGitHead(join(root, 'custom_nodes', name));
    nodes.push({
      name,
      url: str(facts.url),
      ref: str(facts.ref),
      commit: head,
      installed_commit: str(facts.commit),
      managed: true,
    });
    if (head === null) problems.push(`custom node ${name} is missing from custom_nodes/`);
    else if (head !== facts.commit)
      problems.push(`custom node ${name} was moved to ${head.slice(0, 12)} since the install`);
  }
  try {
    for (const entry of await readdir(join(root, 'custom_nodes'), { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name === '__pycache__') continue;
      if (recorded.some((r) => r.name === entry.name)) continue;
      nodes.push({
        name: entry.name,
        url: null,
        ref: null,
        commit: await readGitHead(join(root, 'custom_nodes', entry.name)),
        installed_commit: null,
        managed: false,
      });
    }
  } catch {
    // no custom_nodes folder
  }

  if (!hasMain) problems.push(`no ComfyUI in ${root}: run comfy-cluster install`);
  else if (!state?.last_success)
    problems.push('the install has not completed and validated yet: run comfy-cluster install');
  if (hasMain && !pythonPresent) problems.push(`the venv python is missing (${python})`);
  if (installedCommit && commit && installedCommit !== commit) {
    problems.push(
      `the checkout was moved to ${commit.slice(0, 12)} since the install (${installedCommit.slice(0, 12)})`,
    );
  }
  if (torchMode !== null && torchMode !== 'skip' && torchVersion === null && pythonPresent) {
    problems.push('torch is not installed in the venv');
  }
  if (state?.validation && !state.validation.ok) problems.push('the last validation failed');

  const staging = existsSync(stagingDir(root));
  if (staging && state?.last_error) {
    problems.push(
      `an update failed at step "${state.last_error.step}"; the previous install is still in use`,
    );
  }

  return {
    install_dir: root,
    installed: hasMain && state?.last_success != null,
    comfyui: {
      repo: str(steps.comfyui?.facts.repo),
      ref: str(steps.comfyui?.facts.ref),
      commit,
      version: await fileVersion(root),
    },
    python: {
      path: python,
      present: pythonPresent,
      version: await venvPythonVersion(join(root, 'venv')),
    },
    torch: { present: torchVersion !== null, version: torchVersion, mode: torchMode },
    custom_nodes: nodes,
    models_path: str(steps['model-paths']?.facts.models_path),
    validation: state?.validation
      ? {
          ok: state.validation.ok,
          at: state.validation.at,
          duration_ms: state.validation.duration_ms,
          output_tail: state.validation.output_tail,
        }
      : null,
    last_success_at: state?.last_success?.at ?? null,
    last_error: state?.last_error ?? null,
    update: {
      staging,
      previous_kept: existsSync(previousDir(root)),
      in_progress: existsSync(`${root}.install.lock`),
    },
    problems,
  };
}

/** Thrown by {@link assertInstalled} when instances cannot be started from `dir`. */
export class NotInstalledError extends Error {
  override readonly name = 'NotInstalledError';
  constructor(readonly status: InstallationStatus) {
    super(`ComfyUI in ${status.install_dir} is not ready to run: ${status.problems.join('; ')}`);
  }
}

/**
 * The launch-time install check (the supervisor's preflight): throws {@link NotInstalledError}
 * unless a validated install is there with its venv python.
 *
 * @example
 * const supervisor = new Supervisor({ runDir, preflight: () => assertInstalled('/opt/ComfyUI') });
 */
export async function assertInstalled(dir: string): Promise<InstallationStatus> {
  const status = await installationStatus(dir);
  if (!status.installed || !status.python.present) throw new NotInstalledError(status);
  return status;
}
