// The supervisor driving the real emulator in ComfyUI's place: it is started with exactly the
// flags the plan gives ComfyUI's main.py (the emulator accepts ComfyUI's command line).
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type PlannedInstance, planInstances } from './instance-plan.js';
import type { StatusChange } from './managed-process.js';
import { signalGroup } from './process-tree.js';
import { Supervisor } from './supervisor.js';
import { freePort, waitFor } from './testing/test-helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EMULATOR = join(ROOT, 'src', 'emulator', 'main.ts');

let dir: string;
let supervisor: Supervisor | null = null;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cc-emu-sup-'));
});

afterEach(async () => {
  if (supervisor) {
    const pids = supervisor.states().flatMap((s) => (s.pid === null ? [] : [s.pid]));
    await supervisor.stopAll();
    for (const pid of pids) signalGroup(pid, 'SIGKILL');
    supervisor = null;
  }
  await rm(dir, { recursive: true, force: true });
});

/** One planned CPU instance, with node + the emulator standing in for python + main.py. */
async function emulatorInstance(): Promise<PlannedInstance> {
  const { instances } = planInstances(
    { gpus: [], cpuOnly: true },
    { installDir: ROOT, dataDir: join(dir, 'data'), portStart: await freePort() },
  );
  const [planned] = instances;
  if (!planned) throw new Error('no instance planned');
  return {
    ...planned,
    command: process.execPath,
    args: ['--import', 'tsx', EMULATOR, ...planned.args.slice(1)],
  };
}

describe('Supervisor with the emulator as ComfyUI', () => {
  it('starts it with the planned flags, restarts it after a crash, stops it gracefully', async () => {
    supervisor = new Supervisor({
      runDir: join(dir, 'run'),
      restart: { delayMs: 100, maxRestarts: 3 },
      readiness: { intervalMs: 50, timeoutMs: 15_000 },
      stopGraceMs: 5000,
    });
    const instance = await emulatorInstance();
    supervisor.add(instance);
    const changes: StatusChange[] = [];
    supervisor.on('status', (c) => changes.push(c));

    const result = await supervisor.startAll();
    expect(result.running).toEqual(['comfyui-cpu']);
    const stats = (await fetch(`${instance.url}/system_stats`).then((r) => r.json())) as {
      devices: { type: string }[];
    };
    expect(stats.devices[0]?.type).toBe('cpu'); // --cpu from the plan reached it
    // Directories the plan asked for were created before the start (ComfyUI needs the user dir).
    expect(existsSync(instance.dirs.user)).toBe(true);

    const firstPid = supervisor.state('comfyui-cpu')?.pid;
    await fetch(`${instance.url}/__emulator/exit`, {
      method: 'POST',
      body: JSON.stringify({ code: 5 }),
    });
    await waitFor(
      () => changes.filter((c) => c.status === 'running').length === 2,
      'the restarted emulator',
      15_000,
    );
    expect(changes.map((c) => c.status)).toEqual(['starting', 'running', 'starting', 'running']);
    expect(changes[2]?.reason).toBe('exit code 5: restart 1/3 in 100 ms');
    const state = supervisor.state('comfyui-cpu');
    expect(state?.pid).not.toBe(firstPid);
    expect(state?.lastExit?.code).toBe(5);

    const exits: number[] = [];
    supervisor.on('exit', (e) => exits.push(e.code ?? -1));
    await supervisor.stop('comfyui-cpu');
    expect(exits).toEqual([0]); // SIGTERM: the emulator closes and exits 0
    const logs =
      supervisor
        .get('comfyui-cpu')
        ?.logTail(200)
        .map((l) => `${l.stream} ${l.text}`) ?? [];
    expect(logs).toContain(`stderr To see the GUI go to: ${instance.url}`);
    expect(logs).toContain('stderr SIGTERM: stopping');
  });

  it('treats the emulator exiting on a busy port (as ComfyUI does) as a crash loop', async () => {
    supervisor = new Supervisor({
      runDir: join(dir, 'run'),
      restart: { delayMs: 50, maxRestarts: 1 },
      readiness: { intervalMs: 50, timeoutMs: 15_000 },
    });
    const instance = await emulatorInstance();
    // Someone takes the port after our pre-start check: the check probes 127.0.0.2 (free), the
    // emulator binds 127.0.0.1, which this server holds.
    const holder = createServer((socket) => socket.destroy());
    await new Promise<void>((r) => holder.listen(instance.port, '127.0.0.1', r));
    try {
      supervisor.addProcess({
        name: instance.name,
        command: instance.command,
        args: instance.args,
        cwd: instance.cwd,
        host: instance.host,
        port: instance.port,
        listen: '127.0.0.2',
        createDirs: instance.createDirs,
        log: { file: instance.dirs.log },
      });
      const result = await supervisor.startAll();
      expect(result.failed).toEqual([
        {
          name: 'comfyui-cpu',
          error: expect.stringMatching(/exited \(exit code 1\) after 1 restart/),
        },
      ]);
      const tail = supervisor.state('comfyui-cpu')?.error?.logTail ?? [];
      expect(tail.some((l) => l.includes('[Errno 98] error while attempting to bind'))).toBe(true);
    } finally {
      await new Promise((r) => holder.close(r));
    }
  });
});
