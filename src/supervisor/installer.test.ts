import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseCustomNodeSpec } from './custom-node-spec.js';
import {
  BROKEN_MAIN_PY,
  comfyFiles,
  commitFiles,
  createRepo,
  nodeFiles,
} from './fixtures/stand-in-repos.js';
import { readGitHead } from './git.js';
import { InstallLockedError, InstallStepError } from './install-error.js';
import { readInstallState, stateFilePath } from './install-state.js';
import { installationStatus } from './installation-status.js';
import {
  type InstallOptions,
  type InstallProgress,
  installComfyUI,
  previousDir,
  stagingDir,
} from './installer.js';

let root: string;
let comfyRepo: string;
let nodeRepo: string;
let failFlag: string;
let dir: string;
let v1: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'cc-install-'));
  comfyRepo = join(root, 'repos', 'ComfyUI');
  nodeRepo = join(root, 'repos', 'nodes', 'comfyui-stand-in-pack');
  failFlag = join(root, 'fail-install-py');
  dir = join(root, 'opt', 'ComfyUI');
  v1 = createRepo(comfyRepo, comfyFiles('0.3.1'), 'v0.3.1');
  createRepo(nodeRepo, nodeFiles(failFlag), 'v1.0.0');
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function options(
  extra: Partial<InstallOptions> = {},
): InstallOptions & { events: InstallProgress[] } {
  const events: InstallProgress[] = [];
  return {
    dir,
    repo: comfyRepo,
    python: 'python3',
    torch: { mode: 'skip' },
    venvWithPip: false, // no network: nothing is pip-installed in these tests
    customNodes: [parseCustomNodeSpec(`${nodeRepo}@v1.0.0`)],
    modelsPath: join(root, 'shared', 'models'),
    validateTimeoutMs: 30_000,
    onProgress: (e) => events.push(e),
    events,
    ...extra,
  };
}

const finals = (events: InstallProgress[]) =>
  events.filter((e) => e.status !== 'running').map((e) => `${e.step}:${e.status}`);
const installRuns = () =>
  readFileSync(join(dir, 'custom_nodes', 'comfyui-stand-in-pack', 'install-runs.txt'), 'utf8');

describe('installComfyUI', () => {
  it('installs from scratch, step by step, and validates', async () => {
    const o = options();
    const report = await installComfyUI(o);
    expect(report).toMatchObject({ dir, mode: 'fresh', changed: true, commit: v1 });
    expect(finals(o.events)).toEqual([
      'comfyui:done',
      'venv:done',
      'torch:done',
      'requirements:done',
      'custom-node:comfyui-stand-in-pack:done',
      'model-paths:done',
      'validate:done',
    ]);
    expect(o.events.every((e) => e.total === 7)).toBe(true);
    expect(
      o.events.filter((e) => e.status === 'done').every((e) => typeof e.durationMs === 'number'),
    ).toBe(true);
    expect(o.events.find((e) => e.step === 'torch' && e.status === 'done')?.message).toMatch(
      /^skipped \(--skip-torch\)/,
    );
    expect(o.events.find((e) => e.step === 'requirements' && e.status === 'done')?.message).toBe(
      'requirements.txt lists nothing to install',
    );

    expect(await readGitHead(dir)).toBe(v1);
    expect(existsSync(join(dir, 'venv', 'bin', 'python'))).toBe(true);
    expect(installRuns()).toBe('ran\n');
    expect(readFileSync(join(dir, 'extra_model_paths.yaml'), 'utf8')).toContain(
      `base_path: ${JSON.stringify(join(root, 'shared', 'models'))}`,
    );

    const status = await installationStatus(dir);
    expect(status).toMatchObject({
      installed: true,
      comfyui: { repo: comfyRepo, commit: v1, version: '0.3.1' },
      python: { present: true },
      torch: { present: false, mode: 'skip' },
      models_path: join(root, 'shared', 'models'),
      validation: { ok: true },
      last_error: null,
      update: { staging: false, previous_kept: false, in_progress: false },
      problems: [],
    });
    expect(status.custom_nodes).toEqual([
      expect.objectContaining({ name: 'comfyui-stand-in-pack', ref: 'v1.0.0', managed: true }),
    ]);
    expect(status.custom_nodes[0]?.commit).toBe(status.custom_nodes[0]?.installed_commit);
  });

  it('a second run says everything is already done and changes nothing', async () => {
    await installComfyUI(options());
    const before = readFileSync(stateFilePath(dir), 'utf8');
    const o = options();
    const report = await installComfyUI(o);
    expect(report).toMatchObject({ mode: 'unchanged', changed: false, commit: v1 });
    expect(finals(o.events)).toEqual([
      'comfyui:already-done',
      'venv:already-done',
      'torch:already-done',
      'requirements:already-done',
      'custom-node:comfyui-stand-in-pack:already-done',
      'model-paths:already-done',
      'validate:already-done',
    ]);
    expect(o.events.find((e) => e.step === 'comfyui')?.message).toMatch(/^already done: cloned /);
    expect(readFileSync(stateFilePath(dir), 'utf8')).toBe(before);
    expect(installRuns()).toBe('ran\n'); // install.py did not run again
    expect(existsSync(stagingDir(dir))).toBe(false);
  });

  it('resumes a failed first install where it stopped', async () => {
    writeFileSync(failFlag, '');
    const first = options();
    const error = (await installComfyUI(first).catch((e: unknown) => e)) as InstallStepError;
    expect(error).toBeInstanceOf(InstallStepError);
    expect(error.step).toBe('custom-node:comfyui-stand-in-pack');
    expect(finals(first.events).at(-1)).toBe('custom-node:comfyui-stand-in-pack:failed');
    const state = readInstallState(dir);
    expect(Object.keys(state?.steps ?? {})).toEqual(['comfyui', 'venv', 'torch', 'requirements']);
    expect(state?.last_error).toMatchObject({
      step: 'custom-node:comfyui-stand-in-pack',
      exit_code: 3,
    });
    expect((await installationStatus(dir)).installed).toBe(false);

    await rm(failFlag);
    const second = options();
    const report = await installComfyUI(second);
    expect(report.mode).toBe('fresh');
    expect(finals(second.events)).toEqual([
      'comfyui:already-done',
      'venv:already-done',
      'torch:already-done',
      'requirements:already-done',
      'custom-node:comfyui-stand-in-pack:done',
      'model-paths:done',
      'validate:done',
    ]);
    expect(readInstallState(dir)?.last_error).toBeNull();
    expect((await installationStatus(dir)).installed).toBe(true);
  });

  it('names the step, the command, the exit code and the last 20 output lines on failure', async () => {
    commitFiles(comfyRepo, { 'main.py': BROKEN_MAIN_PY }, 'break start-up', 'v0.3.2-broken');
    const o = options({ ref: 'v0.3.2-broken', customNodes: [] });
    const error = (await installComfyUI(o).catch((e: unknown) => e)) as InstallStepError;
    expect(error).toBeInstanceOf(InstallStepError);
    expect(error.step).toBe('validate');
    expect(error.exitCode).toBe(1);
    expect(error.command).toMatch(/venv\/bin\/python main\.py --quick-test-for-ci --cpu /);
    expect(error.outputTail).toHaveLength(20);
    const lines = error.message.split('\n');
    expect(lines[0]).toBe('install step "validate" failed: the command failed');
    expect(lines[1]).toMatch(/^ {2}command: .*python main\.py --quick-test-for-ci/);
    expect(lines[2]).toBe('  exit code: 1');
    expect(lines[3]).toBe('  last 20 line(s) of output:');
    expect(error.message).not.toContain('start-up line 6\n');
    expect(error.message).toContain('start-up line 7');
    expect(error.message).toContain("ModuleNotFoundError: No module named 'comfy_kitchen'");
    const status = await installationStatus(dir);
    expect(status.validation?.ok).toBe(false);
    expect(status.last_error).toMatchObject({ step: 'validate', exit_code: 1 });
    expect(status.problems).toContain('the last validation failed');
  });

  it('fails validation when a listed custom node cannot be imported', async () => {
    const badNode = join(root, 'repos', 'nodes', 'broken-pack');
    createRepo(badNode, nodeFiles(failFlag, 'raise ImportError("needs cv2")\n'));
    const error = (await installComfyUI(
      options({ customNodes: [parseCustomNodeSpec(badNode)] }),
    ).catch((e: unknown) => e)) as InstallStepError;
    expect(error.step).toBe('validate');
    expect(error.reason).toBe('ComfyUI started but could not import custom node(s): broken-pack');
  });

  it('updates through a staging copy, keeps user data and the previous install', async () => {
    await installComfyUI(options());
    await mkdir(join(dir, 'output'), { recursive: true });
    writeFileSync(join(dir, 'output', 'ComfyUI_00001_.png'), 'png');
    writeFileSync(join(dir, 'models', 'checkpoints', 'sd15.safetensors'), 'weights');
    const v2 = commitFiles(comfyRepo, comfyFiles('0.3.2'), 'release 0.3.2', 'v0.3.2');

    const o = options({ ref: 'v0.3.2' });
    const report = await installComfyUI(o);
    expect(report).toMatchObject({ mode: 'update', changed: true, commit: v2 });
    expect(finals(o.events)).toEqual([
      'stage:done',
      'comfyui:done',
      'venv:already-done',
      'torch:already-done',
      'requirements:already-done',
      'custom-node:comfyui-stand-in-pack:already-done',
      'model-paths:already-done',
      'validate:done',
      'switch:done',
    ]);
    expect(o.events.every((e) => e.total === 9)).toBe(true);
    expect(await readGitHead(dir)).toBe(v2);
    expect(readFileSync(join(dir, 'comfyui_version.py'), 'utf8')).toContain('0.3.2');
    expect(readFileSync(join(dir, 'output', 'ComfyUI_00001_.png'), 'utf8')).toBe('png');
    expect(readFileSync(join(dir, 'models', 'checkpoints', 'sd15.safetensors'), 'utf8')).toBe(
      'weights',
    );
    expect(existsSync(stagingDir(dir))).toBe(false);
    expect(await readGitHead(previousDir(dir))).toBe(v1);
    expect(installRuns()).toBe('ran\n');
    const status = await installationStatus(dir);
    expect(status).toMatchObject({
      installed: true,
      comfyui: { commit: v2, version: '0.3.2' },
      problems: [],
    });
    expect(status.update.previous_kept).toBe(true);
    // The venv moved with the install and still runs from its new place.
    expect(readFileSync(join(dir, 'venv', 'pyvenv.cfg'), 'utf8')).not.toContain('.staging');
  });

  it('a failed update leaves the working install untouched, and the next run resumes it', async () => {
    await installComfyUI(options());
    commitFiles(comfyRepo, { 'main.py': BROKEN_MAIN_PY }, 'broken release', 'v0.4.0');
    const failed = options({ ref: 'v0.4.0' });
    const error = (await installComfyUI(failed).catch((e: unknown) => e)) as InstallStepError;
    expect(error.step).toBe('validate');

    // Live install: same commit, same code, still validated; the failure is on record.
    expect(await readGitHead(dir)).toBe(v1);
    expect(readFileSync(join(dir, 'main.py'), 'utf8')).not.toContain('start-up line');
    expect(existsSync(stagingDir(dir))).toBe(true);
    const status = await installationStatus(dir);
    expect(status.installed).toBe(true);
    expect(status.update.staging).toBe(true);
    expect(status.last_error).toMatchObject({ step: 'validate', exit_code: 1 });
    expect(status.problems).toContain(
      'an update failed at step "validate"; the previous install is still in use',
    );

    const v3 = commitFiles(comfyRepo, comfyFiles('0.4.1'), 'fixed release', 'v0.4.1');
    const resumed = options({ ref: 'v0.4.1' });
    await installComfyUI(resumed);
    expect(resumed.events.find((e) => e.step === 'stage' && e.status === 'done')?.message).toBe(
      'resumed the staging copy of a failed update',
    );
    expect(await readGitHead(dir)).toBe(v3);
    const after = await installationStatus(dir);
    expect(after).toMatchObject({ installed: true, last_error: null, problems: [] });
  });

  it('explains that a venv without pip cannot install listed requirements', async () => {
    commitFiles(
      comfyRepo,
      { 'requirements.txt': '# core\nnumpy>=1.25\n' },
      'needs numpy',
      'v0.3.3',
    );
    const error = (await installComfyUI(options({ ref: 'v0.3.3' })).catch(
      (e: unknown) => e,
    )) as InstallStepError;
    expect(error.step).toBe('requirements');
    expect(error.reason).toMatch(/requirements\.txt lists 1 package\(s\) but the venv has no pip/);
  });

  it('refuses to run while another install holds the lock', async () => {
    await mkdir(join(root, 'opt'), { recursive: true });
    writeFileSync(`${dir}.install.lock`, `${process.ppid}\n`);
    await expect(installComfyUI(options())).rejects.toThrow(InstallLockedError);
    await expect(installComfyUI(options())).rejects.toThrow(
      `another install (pid ${process.ppid})`,
    );
    writeFileSync(`${dir}.install.lock`, '999999999\n'); // stale: that process is gone
    await expect(installComfyUI(options({ customNodes: [] }))).resolves.toMatchObject({
      mode: 'fresh',
    });
  });

  it('refuses a directory that holds something other than a git checkout', async () => {
    await mkdir(dir, { recursive: true });
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    const error = (await installComfyUI(options()).catch((e: unknown) => e)) as InstallStepError;
    expect(error.step).toBe('comfyui');
    expect(error.reason).toMatch(/exists but is not a git checkout/);
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('mine');
  });

  it('finishes a switch that a crash interrupted, before anything else', async () => {
    await installComfyUI(options());
    writeFileSync(join(dir, 'models', 'checkpoints', 'sd15.safetensors'), 'weights');
    // A validated staging copy, and a crash right after the live dir was moved aside.
    await cp(dir, stagingDir(dir), { recursive: true, verbatimSymlinks: true });
    await rm(join(stagingDir(dir), 'models'), { recursive: true });
    writeFileSync(join(stagingDir(dir), 'NEW_BUILD'), '');
    writeFileSync(`${dir}.switch.json`, '{"keep_previous":true}\n');
    await rename(dir, previousDir(dir));

    const report = await installComfyUI(options());
    expect(report.mode).toBe('unchanged');
    expect(existsSync(join(dir, 'NEW_BUILD'))).toBe(true);
    expect(readFileSync(join(dir, 'models', 'checkpoints', 'sd15.safetensors'), 'utf8')).toBe(
      'weights',
    );
    expect(existsSync(`${dir}.switch.json`)).toBe(false);
    expect(existsSync(stagingDir(dir))).toBe(false);
  });
});

describe('installationStatus', () => {
  it('reports a missing install without throwing', async () => {
    const status = await installationStatus(join(root, 'nowhere'));
    expect(status).toMatchObject({
      installed: false,
      comfyui: { commit: null, version: null },
      python: { present: false },
      custom_nodes: [],
      validation: null,
      last_error: null,
    });
    expect(status.problems).toEqual([
      `no ComfyUI in ${join(root, 'nowhere')}: run comfy-cluster install`,
    ]);
  });

  it('notices a checkout moved after the install and packs it did not install', async () => {
    await installComfyUI(options({ customNodes: [] }));
    const v2 = commitFiles(comfyRepo, comfyFiles('0.3.2'), 'next');
    execFileSync('git', ['fetch', '-q', 'origin'], { cwd: dir });
    execFileSync('git', ['checkout', '-q', '--detach', v2], { cwd: dir });
    await mkdir(join(dir, 'custom_nodes', 'hand-copied-pack'), { recursive: true });
    const status = await installationStatus(dir);
    expect(status.comfyui.commit).toBe(v2);
    expect(status.problems).toEqual([
      `the checkout was moved to ${v2.slice(0, 12)} since the install (${v1.slice(0, 12)})`,
    ]);
    expect(status.custom_nodes).toEqual([
      {
        name: 'hand-copied-pack',
        url: null,
        ref: null,
        commit: null,
        installed_commit: null,
        managed: false,
      },
    ]);
  });
});
