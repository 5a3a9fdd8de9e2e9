import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ManagedProcess,
  type ManagedProcessError,
  type ManagedProcessOptions,
  type StatusChange,
} from './managed-process.js';
import { pidFilePath } from './pid-file.js';
import { isProcessAlive, signalGroup } from './process-tree.js';
import { FAKE_COMFYUI, freePort, waitFor } from './testing/test-helpers.js';

let dir: string;
const started: ManagedProcess[] = [];
const servers: Server[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cc-proc-'));
});

afterEach(async () => {
  for (const proc of started.splice(0)) {
    const pid = proc.pid;
    await proc.stop();
    if (pid !== null) signalGroup(pid, 'SIGKILL');
  }
  for (const server of servers.splice(0)) await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
});

async function fake(
  fakeArgs: string[] = [],
  overrides: Partial<ManagedProcessOptions> = {},
): Promise<ManagedProcess> {
  const port = overrides.port ?? (await freePort());
  const proc = new ManagedProcess({
    name: 'comfyui-gpu0',
    command: process.execPath,
    args: [FAKE_COMFYUI, '--listen', '127.0.0.1', '--port', String(port), ...fakeArgs],
    host: '127.0.0.1',
    port,
    runDir: join(dir, 'run'),
    log: { file: join(dir, 'logs', 'comfyui-gpu0.log') },
    restart: { delayMs: 100, maxRestarts: 3 },
    readiness: { timeoutMs: 5000, intervalMs: 50 },
    stopGraceMs: 2000,
    ...overrides,
  });
  started.push(proc);
  return proc;
}

function statuses(proc: ManagedProcess): StatusChange[] {
  const seen: StatusChange[] = [];
  proc.on('status', (c) => seen.push(c));
  return seen;
}

const logText = (proc: ManagedProcess) => proc.log.tail(1000).map((l) => l.text);

describe('ManagedProcess', () => {
  it('spawns, becomes running when /system_stats answers, and records a pid file', async () => {
    const proc = await fake();
    const seen = statuses(proc);
    await proc.start();
    expect(proc.status).toBe('running');
    expect(seen.map((c) => c.status)).toEqual(['starting', 'running']);
    const pid = proc.pid;
    expect(pid).not.toBeNull();
    expect(isProcessAlive(pid ?? -1)).toBe(true);
    const record = JSON.parse(readFileSync(pidFilePath(join(dir, 'run'), proc.name), 'utf8'));
    expect(record).toMatchObject({
      name: 'comfyui-gpu0',
      pid,
      pgid: pid,
      supervisor_pid: process.pid,
    });
    const stats = await fetch(`${proc.url}/system_stats`).then((r) => r.json());
    expect(stats).toMatchObject({ system: { comfyui_version: '0.0.0-fake' } });
    expect(proc.state()).toMatchObject({ status: 'running', pid, restarts: 0, error: null });
  });

  it('stops gracefully with SIGTERM and removes its pid file', async () => {
    const proc = await fake();
    await proc.start();
    const pid = proc.pid ?? -1;
    const exits: unknown[] = [];
    proc.on('exit', (e) => exits.push(e));
    await proc.stop();
    expect(proc.status).toBe('stopped');
    expect(isProcessAlive(pid)).toBe(false);
    expect(exits).toEqual([
      expect.objectContaining({ pid, code: 0, signal: null, expected: true }),
    ]);
    expect(existsSync(pidFilePath(join(dir, 'run'), proc.name))).toBe(false);
    await proc.stop(); // idempotent
    expect(proc.status).toBe('stopped');
  });

  it('escalates to SIGKILL when the process ignores SIGTERM', async () => {
    const proc = await fake(['--fake-ignore-sigterm'], { stopGraceMs: 300 });
    await proc.start();
    const seen = statuses(proc);
    await proc.stop();
    expect(seen.at(-1)).toMatchObject({ status: 'stopped', reason: 'killed after grace period' });
    expect(proc.state().lastExit?.signal).toBe('SIGKILL');
    await waitFor(() => logText(proc).includes('SIGTERM ignored'), 'the SIGTERM log line');
    expect(logText(proc)).toContain('no exit 300 ms after SIGTERM: sending SIGKILL');
  });

  it('ends the whole process group, not only the leader', async () => {
    const proc = await fake(['--fake-grandchild']);
    await proc.start();
    const line = await waitFor(
      () => logText(proc).find((l) => l.startsWith('grandchild ')),
      'the grandchild pid',
    );
    const grandchild = Number(line.split(' ')[1]);
    expect(isProcessAlive(grandchild)).toBe(true);
    await proc.stop();
    await waitFor(() => !isProcessAlive(grandchild), 'the grandchild to end', 3000);
  });

  it('restarts after an unexpected exit, waiting restart_delay first', async () => {
    const proc = await fake([], { restart: { delayMs: 300, maxRestarts: 3 } });
    await proc.start();
    const firstPid = proc.pid;
    const seen = statuses(proc);
    await fetch(`${proc.url}/__emulator/exit?code=3`, { method: 'POST' }).catch(() => undefined);
    await waitFor(() => seen.some((c) => c.status === 'running'), 'the restarted process', 5000);
    expect(seen.map((c) => c.status)).toEqual(['starting', 'running']);
    expect(seen[0]?.reason).toBe('exit code 3: restart 1/3 in 300 ms');
    const state = proc.state();
    expect(state.pid).not.toBe(firstPid);
    expect(state.restarts).toBe(1);
    expect(state.lastExit?.code).toBe(3);
    // The new process was spawned no earlier than the delay after the exit.
    expect((state.startedAt ?? 0) - (state.lastExit?.at ?? 0)).toBeGreaterThanOrEqual(290);
  });

  it('gives up after max_restarts within the window and keeps the last output', async () => {
    const proc = await fake(['--fake-exit-after-ms', '30', '--fake-exit-code', '7'], {
      restart: { delayMs: 50, maxRestarts: 2 },
    });
    // It may crash before or after its first readiness answer; either way start() ends in error.
    const error = (await proc.start().then(
      () => waitFor(() => proc.status === 'error' && proc.state().error, 'the crash loop', 8000),
      (e: unknown) => e,
    )) as { code: string };
    expect(error.code).toBe('CRASH_LOOP');
    const state = proc.state();
    expect(state.error).toMatchObject({ code: 'CRASH_LOOP' });
    expect(state.error?.message).toMatch(
      /exited \(exit code 7\) after 2 restart\(s\) within 900 s: giving up/,
    );
    expect(state.error?.logTail).toContain('[stderr] fake crash');
    expect(state.lastExit?.code).toBe(7);
    expect(logText(proc).filter((l) => l.startsWith('started pid'))).toHaveLength(3);
    expect(state.pid).toBeNull();
  });

  it('rejects start with CRASH_LOOP when the process dies before it is ever ready', async () => {
    const proc = await fake(['--fake-start-delay-ms', '10000'], {
      command: process.execPath,
      args: ['-e', 'console.error("boom"); process.exit(2)'],
      restart: { delayMs: 20, maxRestarts: 1 },
    });
    const error = (await proc.start().catch((e: unknown) => e)) as ManagedProcessError;
    expect(error.code).toBe('CRASH_LOOP');
    expect(error.logTail).toContain('[stderr] boom');
  });

  it('ends in error when readiness times out, and ends the process', async () => {
    const proc = await fake(['--fake-not-ready'], {
      readiness: { timeoutMs: 400, intervalMs: 50 },
    });
    const error = (await proc.start().catch((e: unknown) => e)) as ManagedProcessError;
    expect(error.code).toBe('STARTUP_TIMEOUT');
    expect(error.message).toMatch(
      /did not answer http:\/\/127\.0\.0\.1:\d+\/system_stats within 400 ms/,
    );
    expect(proc.status).toBe('error');
    await waitFor(() => proc.pid === null, 'the unready process to end');
    expect(proc.state().restarts).toBe(0);
  });

  it('refuses to start on a taken port, naming the port and its holder', async () => {
    const port = await freePort();
    const server = createServer();
    servers.push(server);
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    const proc = await fake([], { port });
    const error = (await proc.start().catch((e: unknown) => e)) as ManagedProcessError;
    expect(error.code).toBe('PORT_IN_USE');
    expect(error.message).toContain(`port ${port} on 127.0.0.1 is already in use`);
    if (process.platform === 'linux') expect(error.message).toContain(`by pid ${process.pid}`);
    expect(proc.status).toBe('error');
    expect(logText(proc).some((l) => l.startsWith('started pid'))).toBe(false);
  });

  it('reports a command that cannot be run', async () => {
    const proc = await fake([], { command: join(dir, 'no-such-python') });
    const error = (await proc.start().catch((e: unknown) => e)) as ManagedProcessError;
    expect(error.code).toBe('SPAWN_FAILED');
    expect(error.message).toMatch(/ENOENT/);
  });

  it('captures stdout and stderr into a rotating log file and a memory tail', async () => {
    const proc = await fake(['--fake-log-lines', '300'], {
      log: { file: join(dir, 'logs', 'gpu0.log'), maxBytes: 4000, maxFiles: 2, memoryLines: 50 },
    });
    await proc.start();
    await waitFor(() => logText(proc).includes('log line 300'), 'the last log line');
    const files = proc.log.files();
    expect(files).toEqual([
      join(dir, 'logs', 'gpu0.log'),
      join(dir, 'logs', 'gpu0.log.1'),
      join(dir, 'logs', 'gpu0.log.2'),
    ]);
    const disk = files.map((f) => readFileSync(f, 'utf8')).join('');
    expect(disk).not.toContain('log line 1\n'); // rotated away
    expect(disk).toContain(' stdout log line 300\n');
    expect(Buffer.byteLength(readFileSync(files[1] ?? '', 'utf8'))).toBeLessThanOrEqual(4000);
    expect(proc.logTail(3)).toHaveLength(3);
    expect(proc.log.tail(1000)).toHaveLength(50);
    const stderr = proc.log.tail(1000).filter((l) => l.stream === 'stderr');
    const onDisk = proc.log.readTail(400).filter((l) => l.stream === 'stderr');
    expect([...stderr, ...onDisk].some((l) => l.text.startsWith('fake ComfyUI starting'))).toBe(
      true,
    );
  });

  it('restart() replaces the process and clears an error state', async () => {
    const proc = await fake();
    await proc.start();
    const first = proc.pid;
    await proc.restart('hung job');
    expect(proc.status).toBe('running');
    expect(proc.pid).not.toBe(first);
    expect(logText(proc)).toContain('restart: hung job');
  });
});
