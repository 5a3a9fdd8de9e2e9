import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanupLeftover, readPidRecord } from './pid-file.js';
import { isProcessAlive, signalGroup } from './process-tree.js';
import { freePort, waitFor } from './testing/test-helpers.js';

const SCRIPT = fileURLToPath(new URL('./fixtures/supervise.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Ready {
  leftovers: { name: string; pid: number; outcome: string }[];
  pid: number;
  grandchild: number;
}

let dir: string;
let port: number;
const gateways: ChildProcess[] = [];
const instancePids: number[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cc-orphans-'));
  port = await freePort();
});

afterEach(async () => {
  for (const gateway of gateways.splice(0)) {
    if (gateway.exitCode === null && gateway.signalCode === null) gateway.kill('SIGKILL');
  }
  await cleanupLeftover(join(dir, 'run'), 'comfyui-gpu0', 1000);
  for (const pid of instancePids.splice(0)) signalGroup(pid, 'SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

/** Starts the stand-in gateway and resolves with what it prints once its instance runs. */
function startGateway(mode?: 'exit'): Promise<{ gateway: ChildProcess; ready: Ready }> {
  const args = ['--import', 'tsx', SCRIPT, join(dir, 'run'), join(dir, 'gpu0.log'), String(port)];
  const gateway = spawn(process.execPath, mode ? [...args, mode] : args, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  gateways.push(gateway);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`gateway not ready: ${err}`)), 15_000);
    gateway.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    gateway.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const match = /READY (.*)\n/.exec(out);
      if (match?.[1]) {
        clearTimeout(timer);
        const ready = JSON.parse(match[1]) as Ready;
        instancePids.push(ready.pid, ready.grandchild);
        resolve({ gateway, ready });
      }
    });
    gateway.once('exit', (code) => {
      if (!/READY/.test(out)) {
        clearTimeout(timer);
        reject(new Error(`gateway exited ${code}: ${err}`));
      }
    });
  });
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });

describe('no orphaned instances', () => {
  it('ends the leftovers of a SIGKILLed gateway at the next start, then leaves nothing', async () => {
    const first = await startGateway();
    expect(isProcessAlive(first.ready.pid)).toBe(true);
    first.gateway.kill('SIGKILL');
    await exited(first.gateway);
    // SIGKILL cannot be caught: the instance and its child are orphans now, still holding the port.
    expect(isProcessAlive(first.ready.pid)).toBe(true);
    expect(isProcessAlive(first.ready.grandchild)).toBe(true);
    expect(readPidRecord(join(dir, 'run'), 'comfyui-gpu0')?.pid).toBe(first.ready.pid);

    const second = await startGateway();
    expect(second.ready.leftovers).toEqual([
      { name: 'comfyui-gpu0', pid: first.ready.pid, outcome: 'killed' },
    ]);
    expect(isProcessAlive(first.ready.pid)).toBe(false);
    expect(isProcessAlive(first.ready.grandchild)).toBe(false);
    // The same port serves again, from the new instance.
    expect(second.ready.pid).not.toBe(first.ready.pid);
    const stats = await fetch(`http://127.0.0.1:${port}/system_stats`).then((r) => r.json());
    expect(stats).toMatchObject({ system: { comfyui_version: '0.0.0-fake' } });

    // SIGTERM: the gateway stops its instance gracefully and exits 143.
    second.gateway.kill('SIGTERM');
    expect(await exited(second.gateway)).toBe(143);
    await waitFor(() => !isProcessAlive(second.ready.pid), 'the instance to end', 3000);
    await waitFor(() => !isProcessAlive(second.ready.grandchild), 'its child to end', 3000);
    expect(readPidRecord(join(dir, 'run'), 'comfyui-gpu0')).toBeNull();
  });

  it('kills the instances when the gateway exits through process.exit', async () => {
    const { gateway, ready } = await startGateway('exit');
    expect(await exited(gateway)).toBe(0);
    await waitFor(() => !isProcessAlive(ready.pid), 'the instance to end', 3000);
    await waitFor(() => !isProcessAlive(ready.grandchild), 'its child to end', 3000);
  });

  it('leaves a process alone when its pid was reused by another program', async () => {
    const { gateway, ready } = await startGateway();
    gateway.kill('SIGKILL');
    await exited(gateway);
    // Forge the record so it points at this test process (alive, but not what was started).
    const { writePidRecord } = await import('./pid-file.js');
    const record = readPidRecord(join(dir, 'run'), 'comfyui-gpu0');
    expect(record).not.toBeNull();
    if (!record) return;
    writePidRecord(join(dir, 'run'), {
      ...record,
      pid: process.pid,
      pgid: process.pid,
      start_time: '1',
    });
    const result = await cleanupLeftover(join(dir, 'run'), 'comfyui-gpu0', 500);
    expect(result).toEqual({ name: 'comfyui-gpu0', pid: process.pid, outcome: 'reused' });
    expect(isProcessAlive(process.pid)).toBe(true);
    signalGroup(ready.pid, 'SIGKILL'); // the real leftover, ended by the test
  });
});
