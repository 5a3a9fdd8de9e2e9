/**
 * `comfy-cluster serve` as a child process (through the test entry that registers serve and
 * keys), against an emulator.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../emulator/index.js';
import { startCli } from '../testing/run-cli.js';

interface Run {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
}

const runs: Run[] = [];
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const r of runs.splice(0)) {
    if (r.child.exitCode === null && r.child.signalCode === null) {
      r.child.kill('SIGKILL');
      await r.exited;
    }
  }
  while (cleanups.length > 0) await cleanups.pop()?.();
});

function run(args: string[], env: NodeJS.ProcessEnv = {}): Run {
  const cli = startCli(args, { env: { LOG_LEVEL: 'info', ...env }, timeoutMs: 120_000 });
  const r = { ...cli, exited: cli.done.then((result) => result.code) };
  runs.push(r);
  return r;
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'cc-serve-cli-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function emulator(): Promise<RunningEmulator> {
  const emu = await startEmulator({ port: 0, speed: Number.POSITIVE_INFINITY });
  cleanups.push(() => emu.close());
  return emu;
}

async function listeningUrl(r: Run): Promise<string> {
  for (let i = 0; i < 400; i++) {
    const m = /comfy-cluster listening on (http:\/\/[\d.:]+)/.exec(r.stdout());
    if (m?.[1]) return m[1];
    if (r.child.exitCode !== null) throw new Error(`serve exited: ${r.stderr()}`);
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`serve did not start: ${r.stderr()}`);
}

describe('comfy-cluster serve', () => {
  it('starts with --instances, answers /health, writes JSON logs, and exits 0 on SIGTERM', async () => {
    const emu = await emulator();
    const dir = await tempDir();
    const r = run(
      ['serve', '--port', '0', '--instances', `http://127.0.0.1:${emu.port}`, '--data-dir', dir],
      { COMFY_CLUSTER_CONFIG: path.join(dir, 'never-written.json') },
    );
    const url = await listeningUrl(r);
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      status = (await fetch(`${url}/health`)).status;
      if (status !== 200) await new Promise((res) => setTimeout(res, 50));
    }
    expect(status).toBe(200);
    const body = (await (await fetch(`${url}/health`)).json()) as {
      comfyui_instances: { host: string }[];
    };
    expect(body.comfyui_instances.map((i) => i.host)).toEqual([`127.0.0.1:${emu.port}`]);
    const created = await fetch(`${url}/api/v1/instances`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x', host: '127.0.0.1', port: 3, enabled: false }),
    });
    expect(created.status).toBe(201);

    r.child.kill('SIGTERM');
    expect(await r.exited).toBe(0);
    const lines = r
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('{'));
    const messages = lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(messages).toEqual(
      expect.arrayContaining(['gateway listening', 'request', 'shutting down']),
    );
    expect(r.stderr()).toBe('');
  });

  it('--emulate n serves n emulated instances that turn healthy, and stops them on SIGTERM', async () => {
    const dir = await tempDir();
    const r = run(['serve', '--port', '0', '--emulate', '2', '--data-dir', dir], {
      COMFY_CLUSTER_CONFIG: path.join(dir, 'never-written.json'),
    });
    const url = await listeningUrl(r);
    const emulated = [
      ...r.stdout().matchAll(/emulated ComfyUI instance at (http:\/\/[\d.:]+)/g),
    ].map((m) => m[1]);
    expect(emulated).toHaveLength(2);
    let healthy = 0;
    for (let i = 0; i < 100 && healthy < 2; i++) {
      const body = (await (await fetch(`${url}/health`)).json()) as {
        comfyui_instances: { healthy: boolean }[];
      };
      healthy = body.comfyui_instances.filter((x) => x.healthy).length;
      if (healthy < 2) await new Promise((res) => setTimeout(res, 50));
    }
    expect(healthy).toBe(2);
    r.child.kill('SIGTERM');
    expect(await r.exited).toBe(0);
    // The emulated instances went with the gateway.
    await expect(fetch(`${emulated[0]}/system_stats`)).rejects.toThrow();
  });

  it('refuses 0.0.0.0 without an API key (exit 2, one line)', async () => {
    const dir = await tempDir();
    const r = run(['serve', '--listen', '0.0.0.0', '--port', '0', '--data-dir', dir]);
    expect(await r.exited).toBe(2);
    expect(r.stderr().trim().split('\n')).toHaveLength(1);
    expect(r.stderr()).toContain('refusing to listen on 0.0.0.0 without an API key');
  });

  it('--local (or ENABLE_COMFYUI=true) without a ComfyUI install exits 1 naming comfy-cluster install', async () => {
    const dir = await tempDir();
    const env = {
      COMFY_CLUSTER_CONFIG: path.join(dir, 'c.json'),
      COMFYUI_INSTALL_PATH: path.join(dir, 'ComfyUI'),
      NUM_GPUS: '1',
    };
    const flag = run(['serve', '--local', '--port', '0', '--data-dir', dir], env);
    const viaEnv = run(['serve', '--port', '0', '--data-dir', dir], {
      ...env,
      ENABLE_COMFYUI: 'true',
    });
    expect(await flag.exited).toBe(1);
    expect(await viaEnv.exited).toBe(1);
    for (const r of [flag, viaEnv]) {
      expect(r.stderr()).toContain(`comfy-cluster install --dir ${path.join(dir, 'ComfyUI')}`);
    }
  });

  it('reports bad flags as usage errors (exit 2)', async () => {
    const bad = [
      ['serve', '--port', 'eighty'],
      ['serve', '--log-level', 'loud'],
      ['serve', '--instances', 'ftp://x', '--port', '0'],
      ['serve', '--instances', 'a:1', '--config', '/tmp/x.json'],
    ];
    const results = await Promise.all(bad.map((args) => run(args).exited));
    expect(results).toEqual([2, 2, 2, 2]);
  });
});
