import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BROKEN_MAIN_PY,
  comfyFiles,
  createRepo,
} from '../../supervisor/fixtures/stand-in-repos.js';
import { runCli } from '../testing/run-cli.js';

// The installer itself is tested in src/supervisor; these check what a person sees at the terminal.
let dir: string;
let goodRepo: string;
let brokenRepo: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cc-install-cli-'));
  goodRepo = join(dir, 'repos', 'comfyui');
  createRepo(goodRepo, comfyFiles('0.8.0'));
  brokenRepo = join(dir, 'repos', 'broken');
  createRepo(brokenRepo, comfyFiles('0.8.0', BROKEN_MAIN_PY));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const env = () => ({ COMFY_CLUSTER_DATA_DIR: join(dir, 'data') });

describe('comfy-cluster install', () => {
  it('installs with a line per step, and a second run changes nothing', async () => {
    const target = join(dir, 'ComfyUI');
    const args = ['install', '--dir', target, '--repo', goodRepo, '--skip-torch'];
    const first = await runCli(args, { env: env(), timeoutMs: 120_000 });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/✓ \[1\/\d+\] comfyui/);
    expect(first.stdout).toMatch(/ComfyUI installed in .*ComfyUI at [0-9a-f]{12}/);

    const second = await runCli(args, { env: env(), timeoutMs: 120_000 });
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/already installed, nothing changed/);
    expect(second.stdout).not.toMatch(/✓ \[/);
  }, 150_000);

  it('names the failing step, its command and its last output lines, and exits 1', async () => {
    const target = join(dir, 'Broken');
    const result = await runCli(
      ['install', '--dir', target, '--repo', brokenRepo, '--skip-torch'],
      {
        env: env(),
        timeoutMs: 120_000,
      },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^comfy-cluster install: .*validate/);
    expect(result.stderr).toMatch(/quick-test-for-ci/);
    expect(result.stderr).toMatch(/No module named 'comfy_kitchen'/);
  }, 150_000);

  it('rejects contradicting flags with exit code 2', async () => {
    const result = await runCli(['install', '--cpu', '--skip-torch'], { env: env() });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('comfy-cluster install: choose one of --cpu, --skip-torch\n');
  });
});
