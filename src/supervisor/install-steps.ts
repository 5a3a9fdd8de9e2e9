import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { CustomNodeSpec } from './custom-node-spec.js';
import { syncExtraModelPaths } from './extra-model-paths.js';
import { GIT_ENV, gitOutput, readGitHead, resolveCommit } from './git.js';
import { InstallStepError } from './install-error.js';
import { type InstallState, STATE_DIR, type StepFacts, type StepRecord } from './install-state.js';
import { venvPython } from './instance-plan.js';
import { hasPip, installedVersion, pythonVersion, readRequirements } from './python-env.js';
import type { CommandResult } from './run-command.js';

/** Where torch comes from: a CUDA wheel index, the CPU index, or not installed by us. */
export type TorchChoice =
  | { mode: 'cuda'; indexUrl: string }
  | { mode: 'cpu'; indexUrl: string }
  | { mode: 'skip' };

/** Everything the steps need, with defaults applied. */
export interface InstallSettings {
  repo: string;
  /** Branch, tag or commit; null = the remote's default branch. */
  ref: string | null;
  /** Fetch and move to the newest commit of `ref` (and of each custom node's ref). */
  update: boolean;
  /** Interpreter the venv is made from. */
  python: string;
  torch: TorchChoice;
  customNodes: CustomNodeSpec[];
  modelsPath: string | null;
  /** False: `python -m venv --without-pip` (offline tests; pip steps then need empty requirements). */
  venvWithPip: boolean;
  /** Added to the validation command. */
  validateArgs: string[];
  validateTimeoutMs: number;
  /** Upper bound per command (clone, pip install, …). */
  commandTimeoutMs: number;
}

/** What the installer hands each step. */
export interface StepContext {
  /** The checkout being worked on: the live install dir, or its staging copy during an update. */
  dir: string;
  state: InstallState;
  settings: InstallSettings;
  /** Runs a command for the current step; a non-zero exit throws {@link InstallStepError}. */
  run(
    command: string,
    args: readonly string[],
    options?: {
      cwd?: string;
      timeoutMs?: number;
      env?: Record<string, string>;
      onLine?: (line: string) => void;
    },
  ): Promise<CommandResult>;
  /** Every output line of the running command (for a verbose CLI), already tagged by step. */
  onLine?: (line: string) => void;
}

/** What a step reports when it ran. */
export interface StepOutcome {
  facts: StepFacts;
  message: string;
}

/** One idempotent installation step. */
export interface InstallStep {
  name: string;
  /** The inputs deciding whether the step must run again (hashed into the state). */
  inputs(ctx: StepContext): Promise<unknown>;
  /** Cheap check that what the record says is still true on disk. */
  verify(ctx: StepContext, record: StepRecord): Promise<boolean>;
  run(ctx: StepContext): Promise<StepOutcome>;
}

/** Default ComfyUI repository. */
export const DEFAULT_COMFYUI_REPO = 'https://github.com/Comfy-Org/ComfyUI.git';
/** Default torch wheel index (NVIDIA, CUDA 13.0, as ComfyUI's README recommends). */
export const DEFAULT_TORCH_INDEX = 'https://download.pytorch.org/whl/cu130';
/** torch wheel index for --cpu. */
export const CPU_TORCH_INDEX = 'https://download.pytorch.org/whl/cpu';

const venvId = (ctx: StepContext) => ctx.state.steps.venv?.facts.venv_id ?? null;
const python = (ctx: StepContext) => venvPython(ctx.dir);

async function isEmptyDir(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch {
    return true;
  }
}

/** Keeps git status clean: our state folder and the venv are not part of the checkout. */
async function excludeFromGit(dir: string, patterns: string[]): Promise<void> {
  const file = join(dir, '.git', 'info', 'exclude');
  let current = '';
  try {
    current = await readFile(file, 'utf8');
  } catch {
    await mkdir(join(dir, '.git', 'info'), { recursive: true }).catch(() => undefined);
  }
  const missing = patterns.filter((p) => !current.split('\n').includes(p));
  if (missing.length > 0) {
    await appendFile(
      file,
      `${current === '' || current.endsWith('\n') ? '' : '\n'}${missing.join('\n')}\n`,
    );
  }
}

/**
 * Brings a git checkout at `dir` to `ref` (clone when absent; fetch only when the ref is not
 * known locally or `update` asks for the newest). Returns the commit checked out.
 */
async function checkoutRepo(
  ctx: StepContext,
  dir: string,
  url: string,
  ref: string | null,
  update: boolean,
  what: string,
): Promise<{ commit: string; cloned: boolean; moved: boolean }> {
  let cloned = false;
  if (!existsSync(join(dir, '.git'))) {
    if (!(await isEmptyDir(dir))) {
      throw new InstallStepError(
        what,
        `${dir} exists but is not a git checkout: move it away or choose another directory`,
      );
    }
    await ctx.run('git', ['clone', '--recurse-submodules', '--', url, dir], {
      env: { ...GIT_ENV },
    });
    cloned = true;
  } else {
    const origin = await gitOutput(dir, ['remote', 'get-url', 'origin']);
    if (origin === null) {
      await ctx.run('git', ['remote', 'add', 'origin', url], { cwd: dir });
    } else if (origin !== url) {
      await ctx.run('git', ['remote', 'set-url', 'origin', url], { cwd: dir });
    }
  }
  const head = await gitOutput(dir, ['rev-parse', 'HEAD']);
  let target: string | null;
  if (ref === null) {
    if (update && !cloned) {
      await ctx.run('git', ['fetch', '--tags', '--force', 'origin'], {
        cwd: dir,
        env: { ...GIT_ENV },
      });
      await ctx.run('git', ['remote', 'set-head', 'origin', '--auto'], {
        cwd: dir,
        env: { ...GIT_ENV },
      });
      target = await resolveCommit(dir, 'refs/remotes/origin/HEAD');
    } else {
      target = head;
    }
  } else {
    target = update && !cloned ? null : await resolveCommit(dir, ref);
    if (target === null && !cloned) {
      await ctx.run('git', ['fetch', '--tags', '--force', 'origin'], {
        cwd: dir,
        env: { ...GIT_ENV },
      });
    }
    target ??= await resolveCommit(dir, ref);
  }
  if (target === null) {
    throw new InstallStepError(
      what,
      ref === null
        ? `cannot tell which commit to use in ${dir}`
        : `ref "${ref}" not found in ${url}`,
    );
  }
  let moved = false;
  if (target !== head) {
    await ctx.run('git', ['-c', 'advice.detachedHead=false', 'checkout', '--detach', target], {
      cwd: dir,
    });
    await ctx.run('git', ['submodule', 'update', '--init', '--recursive'], {
      cwd: dir,
      env: { ...GIT_ENV },
    });
    moved = true;
  }
  return { commit: target, cloned, moved };
}

async function comfyuiVersion(dir: string): Promise<string | null> {
  try {
    const text = await readFile(join(dir, 'comfyui_version.py'), 'utf8');
    return /__version__\s*=\s*["']([^"']+)["']/.exec(text)?.[1] ?? null;
  } catch {
    return null;
  }
}

/** Installs a requirements file with pip, or explains why it cannot. */
async function pipInstallRequirements(
  ctx: StepContext,
  cwd: string,
  what: string,
): Promise<{ installed: boolean; lines: number }> {
  const requirements = await readRequirements(cwd);
  if (requirements === null || requirements.lines.length === 0) {
    return { installed: false, lines: 0 };
  }
  if (!(await hasPip(python(ctx)))) {
    throw new InstallStepError(
      what,
      `${join(cwd, 'requirements.txt')} lists ${requirements.lines.length} package(s) but the venv has no pip (it was made without ensurepip: install your distribution's python3-venv package, or use a Python that has ensurepip)`,
    );
  }
  await ctx.run(
    python(ctx),
    ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '-r', 'requirements.txt'],
    { cwd },
  );
  return { installed: true, lines: requirements.lines.length };
}

/** Clone or move the ComfyUI checkout to the requested ref. */
export const comfyuiStep: InstallStep = {
  name: 'comfyui',
  inputs: async (ctx) => ({ repo: ctx.settings.repo, ref: ctx.settings.ref }),
  async verify(ctx, record) {
    const head = await readGitHead(ctx.dir);
    if (head === null || head !== record.facts.commit) return false;
    if (!ctx.settings.update) return true;
    // --update: fetching touches only .git, so it is safe on a live install.
    await ctx.run('git', ['fetch', '--tags', '--force', 'origin'], {
      cwd: ctx.dir,
      env: { ...GIT_ENV },
    });
    if (ctx.settings.ref === null) {
      await ctx.run('git', ['remote', 'set-head', 'origin', '--auto'], {
        cwd: ctx.dir,
        env: { ...GIT_ENV },
      });
    }
    return (await resolveCommit(ctx.dir, ctx.settings.ref ?? 'refs/remotes/origin/HEAD')) === head;
  },
  async run(ctx) {
    const s = ctx.settings;
    const result = await checkoutRepo(ctx, ctx.dir, s.repo, s.ref, s.update, 'comfyui');
    if (!existsSync(join(ctx.dir, 'main.py'))) {
      throw new InstallStepError(
        'comfyui',
        `${s.repo} has no main.py at ${result.commit}: is it ComfyUI?`,
      );
    }
    await excludeFromGit(ctx.dir, [`/${STATE_DIR}/`, '/venv/']);
    const version = await comfyuiVersion(ctx.dir);
    const short = result.commit.slice(0, 12);
    return {
      facts: { commit: result.commit, version, repo: s.repo, ref: s.ref },
      message: result.cloned
        ? `cloned ${s.repo} at ${short}`
        : result.moved
          ? `checked out ${s.ref ?? 'the default branch'} (${short})`
          : `already at ${short}`,
    };
  },
};

/** Create (or adopt) the Python venv. */
export const venvStep: InstallStep = {
  name: 'venv',
  async inputs(ctx) {
    return { python: ctx.settings.python, version: await pythonVersion(ctx.settings.python) };
  },
  verify: async (ctx) => (await pythonVersion(python(ctx))) !== null,
  async run(ctx) {
    const base = ctx.settings.python;
    const wanted = await pythonVersion(base);
    if (wanted === null) {
      throw new InstallStepError(
        'venv',
        `${base} does not run: pass --python with a Python ≥ 3.10`,
      );
    }
    const venvDir = join(ctx.dir, 'venv');
    const existing = await pythonVersion(python(ctx));
    if (existing !== null && existing === wanted) {
      return {
        facts: {
          venv_id: randomUUID(),
          python_version: existing,
          pip: await hasPip(python(ctx)),
          adopted: true,
        },
        message: `kept the existing venv (Python ${existing})`,
      };
    }
    if (existsSync(venvDir)) await rm(venvDir, { recursive: true, force: true });
    let pip = ctx.settings.venvWithPip;
    try {
      await ctx.run(base, ['-m', 'venv', ...(pip ? [] : ['--without-pip']), venvDir]);
    } catch (error) {
      // Debian's python3 without python3-venv has no ensurepip: a venv without pip still runs
      // ComfyUI when every requirement is already present (pip steps then say what is missing).
      if (!pip || !(error instanceof InstallStepError) || !/ensurepip/i.test(error.message))
        throw error;
      await rm(venvDir, { recursive: true, force: true });
      await ctx.run(base, ['-m', 'venv', '--without-pip', venvDir]);
      pip = false;
    }
    return {
      facts: { venv_id: randomUUID(), python_version: wanted, pip, adopted: false },
      message: `created venv with Python ${wanted}${pip ? '' : ' (without pip)'}`,
    };
  },
};

function torchFits(version: string, mode: 'cuda' | 'cpu'): boolean {
  return mode === 'cpu' ? !/\+cu\d/.test(version) : !version.includes('+cpu');
}

/** Install torch from the right wheel index, unless present (or --skip-torch). */
export const torchStep: InstallStep = {
  name: 'torch',
  inputs: async (ctx) => ({ torch: ctx.settings.torch, venv: venvId(ctx) }),
  async verify(ctx) {
    if (ctx.settings.torch.mode === 'skip') return true;
    return (await installedVersion(python(ctx), 'torch')) !== null;
  },
  async run(ctx) {
    const choice = ctx.settings.torch;
    const present = await installedVersion(python(ctx), 'torch');
    if (choice.mode === 'skip') {
      return {
        facts: { mode: 'skip', version: present, index_url: null },
        message: `skipped (--skip-torch)${present ? `; torch ${present} is present` : '; torch is NOT installed'}`,
      };
    }
    if (present !== null && torchFits(present, choice.mode)) {
      return {
        facts: {
          mode: choice.mode,
          version: present,
          index_url: choice.indexUrl,
          preinstalled: true,
        },
        message: `torch ${present} already in the venv`,
      };
    }
    if (!(await hasPip(python(ctx)))) {
      throw new InstallStepError(
        'torch',
        'the venv has no pip: install torch yourself and pass --skip-torch, or use a Python with ensurepip',
      );
    }
    await ctx.run(python(ctx), [
      '-m',
      'pip',
      'install',
      '--disable-pip-version-check',
      '--no-input',
      'torch',
      'torchvision',
      'torchaudio',
      '--extra-index-url',
      choice.indexUrl,
    ]);
    const version = await installedVersion(python(ctx), 'torch');
    return {
      facts: { mode: choice.mode, version, index_url: choice.indexUrl, preinstalled: false },
      message: `installed torch ${version ?? '?'} from ${choice.indexUrl}`,
    };
  },
};

/** pip install -r requirements.txt of ComfyUI itself. */
export const requirementsStep: InstallStep = {
  name: 'requirements',
  async inputs(ctx) {
    return { requirements: (await readRequirements(ctx.dir))?.text ?? null, venv: venvId(ctx) };
  },
  verify: async () => true,
  async run(ctx) {
    const result = await pipInstallRequirements(ctx, ctx.dir, 'requirements');
    return {
      facts: { packages: result.lines },
      message: result.installed
        ? `installed ${result.lines} requirement(s)`
        : 'requirements.txt lists nothing to install',
    };
  },
};

/** One custom node pack: clone at its ref, its requirements.txt, its install.py. */
export function customNodeStep(spec: CustomNodeSpec): InstallStep {
  const name = `custom-node:${spec.name}`;
  const nodeDir = (ctx: StepContext) => join(ctx.dir, 'custom_nodes', spec.name);
  return {
    name,
    inputs: async (ctx) => ({ url: spec.url, ref: spec.ref, venv: venvId(ctx) }),
    async verify(ctx, record) {
      const head = await readGitHead(nodeDir(ctx));
      if (head === null || head !== record.facts.commit) return false;
      if (!ctx.settings.update) return true;
      await ctx.run('git', ['fetch', '--tags', '--force', 'origin'], {
        cwd: nodeDir(ctx),
        env: { ...GIT_ENV },
      });
      return (await resolveCommit(nodeDir(ctx), spec.ref ?? 'refs/remotes/origin/HEAD')) === head;
    },
    async run(ctx) {
      const dir = nodeDir(ctx);
      await mkdir(join(ctx.dir, 'custom_nodes'), { recursive: true });
      const checkout = await checkoutRepo(ctx, dir, spec.url, spec.ref, ctx.settings.update, name);
      const requirements = await pipInstallRequirements(ctx, dir, name);
      const hasInstallPy = existsSync(join(dir, 'install.py'));
      if (hasInstallPy) await ctx.run(python(ctx), ['install.py'], { cwd: dir });
      const parts = [
        `${checkout.cloned ? 'cloned' : 'at'} ${checkout.commit.slice(0, 12)}`,
        ...(requirements.installed ? [`${requirements.lines} requirement(s)`] : []),
        ...(hasInstallPy ? ['ran install.py'] : []),
      ];
      return {
        facts: {
          commit: checkout.commit,
          url: spec.url,
          ref: spec.ref,
          requirements: requirements.lines,
          install_py: hasInstallPy,
        },
        message: parts.join(', '),
      };
    },
  };
}

/** extra_model_paths.yaml pointing at the shared models folder. */
export const modelPathsStep: InstallStep = {
  name: 'model-paths',
  inputs: async (ctx) => ({ models_path: ctx.settings.modelsPath }),
  async verify(ctx) {
    if (ctx.settings.modelsPath === null) return true;
    return existsSync(join(ctx.dir, 'extra_model_paths.yaml'));
  },
  async run(ctx) {
    let change: Awaited<ReturnType<typeof syncExtraModelPaths>>;
    try {
      change = await syncExtraModelPaths(ctx.dir, ctx.settings.modelsPath);
    } catch (error) {
      throw new InstallStepError('model-paths', (error as Error).message);
    }
    const path = ctx.settings.modelsPath;
    const message =
      change === 'written'
        ? `extra_model_paths.yaml → ${path}`
        : change === 'unchanged'
          ? `extra_model_paths.yaml already points at ${path}`
          : change === 'removed'
            ? 'removed the extra_model_paths.yaml written earlier (no --models-path)'
            : 'no shared models path';
    return { facts: { models_path: path, change }, message };
  },
};

/** Names of custom node folders ComfyUI reported as failing to import. */
export function importFailures(lines: readonly string[]): string[] {
  const names: string[] = [];
  for (const line of lines) {
    const match = /\(IMPORT FAILED\):\s*(.+)$/.exec(line);
    if (match?.[1]) names.push(basename(match[1].trim()));
  }
  return names;
}

/** The validation command's arguments (main.py first). */
export function validationArgs(dir: string, extra: readonly string[]): string[] {
  const scratch = join(dir, STATE_DIR, 'validate');
  return [
    'main.py',
    '--quick-test-for-ci',
    '--cpu',
    '--temp-directory',
    scratch,
    '--user-directory',
    join(scratch, 'user'),
    '--database-url',
    'sqlite:///:memory:',
    ...extra,
  ];
}

/**
 * `python main.py --quick-test-for-ci`: ComfyUI's full start-up (custom nodes imported, database,
 * routes) that exits 0 before binding a port. Run with --cpu so it checks the install, not the
 * GPUs (which may be busy serving), with its own temp/user dirs and an in-memory database.
 */
export function validateStep(previous: readonly InstallStep[]): InstallStep {
  return {
    name: 'validate',
    // Any earlier step that ran again (new inputs, or repaired after a failed verify) re-validates.
    inputs: async (ctx) => ({
      steps: previous.map((s) => {
        const record = ctx.state.steps[s.name];
        return record ? `${record.inputs_hash}@${record.completed_at}` : null;
      }),
      commit: ctx.state.steps.comfyui?.facts.commit ?? null,
      args: ctx.settings.validateArgs,
    }),
    verify: async (ctx) => ctx.state.validation?.ok === true,
    async run(ctx) {
      const args = validationArgs(ctx.dir, ctx.settings.validateArgs);
      await mkdir(join(ctx.dir, STATE_DIR, 'validate', 'user'), { recursive: true });
      const lines: string[] = [];
      const all: string[] = [];
      const started = Date.now();
      const command = `${python(ctx)} ${args.join(' ')}`;
      try {
        const result = await ctx.run(python(ctx), args, {
          cwd: ctx.dir,
          timeoutMs: ctx.settings.validateTimeoutMs,
          env: { PYTHONUNBUFFERED: '1' },
          onLine: (line) => all.push(line),
        });
        lines.push(...result.tail);
      } catch (error) {
        ctx.state.validation = {
          ok: false,
          at: new Date().toISOString(),
          duration_ms: Date.now() - started,
          command,
          output_tail: error instanceof InstallStepError ? [...error.outputTail] : [],
        };
        throw error;
      }
      const ours = new Set(ctx.settings.customNodes.map((n) => n.name));
      const failed = importFailures(all).filter((n) => ours.has(n));
      ctx.state.validation = {
        ok: failed.length === 0,
        at: new Date().toISOString(),
        duration_ms: Date.now() - started,
        command,
        output_tail: lines,
      };
      if (failed.length > 0) {
        throw new InstallStepError(
          'validate',
          `ComfyUI started but could not import custom node(s): ${failed.join(', ')}`,
          command,
          0,
          lines,
        );
      }
      return { facts: { ok: true }, message: 'ComfyUI starts (--quick-test-for-ci passed)' };
    },
  };
}
