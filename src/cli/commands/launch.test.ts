/**
 * `comfy-cluster launch` as a child process: `--emulate` runs the emulator in ComfyUI's place as
 * managed instances; the steps are printed, the gateway serves them, Ctrl-C stops everything.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
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
  const cli = startCli(args, { env: { LOG_LEVEL: '', NUM_GPUS: '', ...env }, timeoutMs: 120_000 });
  const r = { ...cli, exited: cli.done.then((result) => result.code) };
  runs.push(r);
  return r;
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'cc-launch-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function listen(port: number): Promise<Server | null> {
  return new Promise((resolve) => {
    const server = createServer((s) => s.destroy());
    server.once('error', () => resolve(null));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

async function portPair(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const first = await listen(0);
    const address = first?.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const second = port > 0 && port < 65535 ? await listen(port + 1) : null;
    await new Promise((r) => (first ? first.close(r) : r(null)));
    await new Promise((r) => (second ? second.close(r) : r(null)));
    if (second) return port;
  }
  throw new Error('no two consecutive free ports');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitForOutput(r: Run, pattern: RegExp, limitMs = 30_000): Promise<RegExpExecArray> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const m = pattern.exec(r.stdout());
    if (m) return m;
    if (r.child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`no ${pattern} in:\n${r.stdout()}\nstderr:\n${r.stderr()}`);
    }
    await new Promise((res) => setTimeout(res, 50));
  }
}

describe('comfy-cluster launch', () => {
  it('--emulate --gpus 2: prints each step, serves both instances, and stops everything on SIGINT', async () => {
    const dir = await tempDir();
    const portStart = await portPair();
    const r = run(
      [
        'launch',
        '--emulate',
        '--gpus',
        '2',
        '--port',
        '0',
        '--port-start',
        String(portStart),
        '--data-dir',
        dir,
      ],
      { COMFY_CLUSTER_CONFIG: path.join(dir, 'comfyui_instances.json') },
    );
    const listening = await waitForOutput(r, /gateway listening on (http:\/\/[\d.:]+)/);
    const url = listening[1] ?? '';
    const out = r.stdout();
    expect(out).toContain('✓ install check: skipped (--emulate');
    expect(out).toContain('✓ 2 GPUs (emulated)');
    const pids = [...out.matchAll(/✓ (comfyui-gpu\d) ready on (\S+) \(pid (\d+),/g)].map((m) => ({
      name: m[1],
      url: m[2],
      pid: Number(m[3]),
    }));
    expect(pids.map((p) => p.name).sort()).toEqual(['comfyui-gpu0', 'comfyui-gpu1']);
    expect(pids.map((p) => p.url).sort()).toEqual([
      `http://127.0.0.1:${portStart}`,
      `http://127.0.0.1:${portStart + 1}`,
    ]);
    expect(pids.every((p) => alive(p.pid))).toBe(true);

    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    const body = (await health.json()) as {
      comfyui_instances: { id: string; healthy: boolean; status: string }[];
    };
    expect(body.comfyui_instances.map((i) => [i.id, i.healthy, i.status])).toEqual([
      ['comfyui-gpu0', true, 'running'],
      ['comfyui-gpu1', true, 'running'],
    ]);

    r.child.kill('SIGINT');
    expect(await r.exited).toBe(0);
    expect(r.stdout()).toContain('SIGINT: stopping the gateway and 2 instance(s)');
    expect(r.stdout()).toMatch(/✓ stopped gracefully in .*; no instance left running/);
    for (const p of pids) expect(alive(p.pid)).toBe(false);
  }, 60_000);

  it('a second launch on the same data dir leaves the running instances alone and exits 1', async () => {
    const dir = await tempDir();
    const portStart = await portPair();
    const args = ['launch', '--emulate', '--gpus', '1', '--port', '0', '--data-dir', dir];
    const env = { COMFY_CLUSTER_CONFIG: path.join(dir, 'comfyui_instances.json') };
    const first = run([...args, '--port-start', String(portStart)], env);
    await waitForOutput(first, /gateway listening on/);
    const pid = Number(/ready on \S+ \(pid (\d+)/.exec(first.stdout())?.[1]);
    const second = run([...args, '--port-start', String(portStart + 1)], env);
    expect(await second.exited).toBe(1);
    expect(second.stderr()).toContain(
      `another gateway (pid ${first.child.pid}) runs the local instances`,
    );
    expect(alive(pid)).toBe(true);
    first.child.kill('SIGINT');
    expect(await first.exited).toBe(0);
    expect(alive(pid)).toBe(false);
  }, 60_000);

  it('without an install: says to run comfy-cluster install and exits 1', async () => {
    const dir = await tempDir();
    const r = run(['launch', '--install-dir', path.join(dir, 'ComfyUI'), '--data-dir', dir]);
    expect(await r.exited).toBe(1);
    expect(r.stdout()).toContain('✗ install check');
    expect(r.stderr()).toContain(`comfy-cluster install --dir ${path.join(dir, 'ComfyUI')}`);
  });

  it('reports bad flags as usage errors (exit 2)', async () => {
    const bad = [
      ['launch', '--emulate', '--gpus', 'two'],
      ['launch', '--emulate', '--io', 'both'],
      ['launch', '--emulate', '--port-start', '70000'],
      ['launch', '--emulate', '--port', 'x'],
    ];
    const results = await Promise.all(bad.map((args) => run(args).exited));
    expect(results).toEqual([2, 2, 2, 2]);
  });
});
