/**
 * Crash recovery: a gateway process (the stand-in: store, registry, monitor, dispatcher) is
 * SIGKILLed with 200 jobs in flight and started again. Every job finishes exactly once: none
 * lost, none completed twice, one set of outputs each, no stray output folders.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ComfyClient } from '../../comfy/index.js';
import { type RunningEmulator, startEmulator } from '../../emulator/index.js';
import { createJobServices } from '../../jobs/index.js';
import { openStore, type Store } from '../../store/index.js';

import { openGateway } from './testing/gateway.js';
import { emptySave } from './testing/workflows.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../../..');
const standIn = path.join(here, 'testing/gateway-stand-in.ts');
const JOBS = 200;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

interface Child {
  child: ChildProcess;
  lines: string[];
  kill(signal: NodeJS.Signals): Promise<void>;
}

function startGateway(dir: string, ports: number[], submit: number): Child {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      standIn,
      '--dir',
      dir,
      '--ports',
      ports.join(','),
      '--submit',
      String(submit),
    ],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: string[] = [];
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', (code, signal) => {
    if (code !== 0 && code !== null && signal === null) lines.push(`exited ${code}: ${stderr}`);
  });
  return {
    child,
    lines,
    kill: async (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

async function until(predicate: () => Promise<boolean> | boolean, limitMs: number, what: string) {
  const deadline = Date.now() + limitMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${limitMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('crash recovery', () => {
  it('finishes all 200 jobs exactly once after the gateway is SIGKILLed mid-flight', {
    timeout: 120_000,
  }, async () => {
    const emus: RunningEmulator[] = [];
    for (let i = 0; i < 3; i++) {
      const emu = await startEmulator({ port: 0, speed: 1, nodeDurations: { KSampler: 40 } });
      cleanups.push(() => emu.close());
      emus.push(emu);
    }
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cc-recovery-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const ports = emus.map((e) => e.port);

    const first = startGateway(dir, ports, JOBS);
    cleanups.push(() => first.kill('SIGKILL'));
    await until(
      () => first.lines.some((l) => l.startsWith('accepted') || l.startsWith('exited')),
      60_000,
      'accepted',
    );
    expect(first.lines).toContain(`accepted ${JOBS}`);

    const store: Store = await openStore({ kind: 'sqlite', file: path.join(dir, 'cc.db') });
    cleanups.push(() => store.close());
    const { jobs } = createJobServices(store, { dataDir: path.join(dir, 'data') });
    await until(async () => (await jobs.countByStatus()).completed >= 30, 30_000, '30 completed');
    const before = await jobs.countByStatus();
    await first.kill('SIGKILL');
    expect(before.processing + before.pending).toBeGreaterThan(0);
    // Let prompts on the instances finish while no gateway watches them.
    await new Promise((r) => setTimeout(r, 300));

    const second = startGateway(dir, ports, JOBS); // submitting again replays the same keys
    cleanups.push(() => second.kill('SIGTERM'));
    await until(
      async () => (await jobs.countByStatus()).completed === JOBS,
      60_000,
      'all completed',
    ).catch(async (err: Error) => {
      const stuck = (await jobs.list({ status: ['processing', 'failed', 'pending'], limit: 5 }))
        .jobs;
      throw new Error(
        `${err.message}: ${JSON.stringify(await jobs.countByStatus())} ${second.lines.join('|')} ${JSON.stringify(stuck.map((j) => [j.status, j.phase, j.instance_id, j.attempts, j.error]))}`,
      );
    });
    await until(() => second.lines.includes(`accepted ${JOBS}`), 30_000, 'replayed submissions');

    const counts = await jobs.countByStatus();
    expect(counts).toMatchObject({ completed: JOBS, pending: 0, processing: 0, failed: 0 });
    const page = await jobs.list({ limit: 500 });
    expect(page.jobs).toHaveLength(JOBS);
    const outputsDir = path.join(dir, 'data', 'outputs');
    for (const job of page.jobs) {
      const events = await jobs.events(job.id);
      const completions = events.filter(
        (e) => e.type === 'status' && e.data.status === 'completed',
      );
      expect(completions, `completions of ${job.id}`).toHaveLength(1);
      const outputs = await jobs.outputs(job.id);
      expect(outputs, `outputs of ${job.id}`).toHaveLength(1);
      expect(outputs[0]?.stored_path?.startsWith(`${job.id}/${job.attempts}/`)).toBe(true);
      const attemptDirs = await readdir(path.join(outputsDir, job.id));
      expect(attemptDirs, `attempt folders of ${job.id}`).toEqual([String(job.attempts)]);
      // A download cut by SIGKILL may leave its hidden `.part` temp file; no second output.
      const files = await readdir(path.join(outputsDir, job.id, String(job.attempts)));
      expect(files.filter((f) => !f.startsWith('.'))).toHaveLength(1);
    }
    const folders = await readdir(outputsDir);
    expect(folders.sort()).toEqual(page.jobs.map((j) => j.id).sort());
    const succeeded = emus.reduce((n, e) => n + e.stats().prompts.succeeded, 0);
    expect(succeeded).toBeGreaterThanOrEqual(JOBS);
  });
});

describe('recovery at start (in-process)', () => {
  async function setup() {
    const emu = await startEmulator({ port: 0, speed: Number.POSITIVE_INFINITY });
    cleanups.push(() => emu.close());
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cc-recover-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    // A gateway that "crashed": the job claimed on the instance, no runner.
    const crashed = await openGateway({
      dir,
      instances: [{ name: 'emu0', port: emu.port }],
      start: false,
    });
    const id = crashed.ids[0] ?? '';
    const { job } = await crashed.services.jobs.create({ workflow: emptySave({ prefix: 'rec' }) });
    const lease = await crashed.services.jobs.claim(job.id, id);
    if (!lease) throw new Error('claim refused');
    await crashed.close();
    return { emu, dir, job, id };
  }

  it('collects a prompt that finished while the gateway was down, without running it again', async () => {
    const { emu, dir, job } = await setup();
    const client = new ComfyClient({ baseUrl: emu.url });
    cleanups.push(() => client.close());
    await client.queuePrompt({ prompt: emptySave({ prefix: 'rec' }), prompt_id: job.id });
    await until(
      async () => (await client.getPromptState(job.id)).state === 'finished',
      5_000,
      'run',
    );
    const gw = await openGateway({ dir });
    cleanups.push(() => gw.close());
    const done = await gw.service.wait(job.id, { timeoutMs: 10_000 });
    expect(done?.status).toBe('completed');
    expect(done?.attempts).toBe(1);
    expect(await gw.service.outputs(job.id)).toHaveLength(1);
    expect(emu.stats().prompts.accepted).toBe(1);
  });

  it('requeues a job its instance does not know, and runs it', async () => {
    const { emu, dir, job } = await setup();
    const gw = await openGateway({ dir });
    cleanups.push(() => gw.close());
    const done = await gw.service.wait(job.id, { timeoutMs: 10_000 });
    expect(done?.status).toBe('completed');
    expect(done?.attempts).toBe(2);
    const attempts = await gw.services.jobs.attempts(job.id);
    expect(attempts.map((a) => a.outcome)).toEqual(['requeued', 'completed']);
    expect(attempts[0]?.error_code).toBe('prompt_lost');
    // The instance answered: it is not excluded.
    expect(done?.excluded_instances).toEqual([]);
    expect(emu.stats().prompts.accepted).toBe(1);
  });
});
