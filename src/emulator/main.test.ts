import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { http, postJson } from './testing/test-kit.js';

const mainTs = fileURLToPath(new URL('./main.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

interface Child {
  process: ChildProcess;
  stderr(): string;
  exited: Promise<number | null>;
}

function launch(args: string[]): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', mainTs, ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return { process: child, stderr: () => stderr, exited };
}

async function waitForLine(child: Child, pattern: RegExp): Promise<RegExpMatchArray> {
  for (let i = 0; i < 300; i++) {
    const match = child.stderr().match(pattern);
    if (match !== null) return match;
    if (child.process.exitCode !== null) throw new Error(`exited: ${child.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no ${pattern} in: ${child.stderr()}`);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('main.ts as its own process', () => {
  const children: Child[] = [];
  const cleanup: string[] = [];
  const servers: Server[] = [];
  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.process.exitCode === null && child.process.signalCode === null) {
        child.process.kill('SIGKILL');
        await child.exited;
      }
    }
    for (const server of servers.splice(0)) await new Promise((r) => server.close(r));
    for (const dir of cleanup.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  it('starts with ComfyUI flags, reports them, and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const base = await mkdtemp(path.join(tmpdir(), 'emu-main-'));
    cleanup.push(base);
    const child = launch([
      '--listen',
      '127.0.0.1',
      '--port',
      String(port),
      '--cpu',
      '--disable-auto-launch',
      '--output-directory',
      path.join(base, 'out'),
      '--temp-directory',
      path.join(base, 'tmp'),
      '--speed',
      'Infinity',
      '--models',
      'checkpoints=a.safetensors,b.safetensors',
      '--version-string',
      '0.3.9',
      '--some-future-flag',
    ]);
    children.push(child);
    const [, url] = await waitForLine(child, /To see the GUI go to: (http:\/\/\S+)/);
    expect(url).toBe(`http://127.0.0.1:${port}`);
    expect(child.stderr()).toContain('WARNING: ignoring unknown flag --some-future-flag');
    const stats = (await http(url as string, 'GET', '/system_stats')).json() as {
      system: { comfyui_version: string; argv: string[] };
      devices: { type: string }[];
    };
    expect(stats.system.comfyui_version).toBe('0.3.9');
    expect(stats.system.argv.slice(0, 5)).toEqual([
      'main.py',
      '--listen',
      '127.0.0.1',
      '--port',
      String(port),
    ]);
    expect(stats.devices[0]?.type).toBe('cpu');
    expect((await http(url as string, 'GET', '/models/checkpoints')).json()).toEqual([
      'a.safetensors',
      'b.safetensors',
    ]);
    // --temp-directory DIR means DIR/temp.
    expect((await stat(path.join(base, 'tmp', 'temp'))).isDirectory()).toBe(true);
    expect((await stat(path.join(base, 'out'))).isDirectory()).toBe(true);
    child.process.kill('SIGTERM');
    expect(await child.exited).toBe(0);
    // The temp directory is wiped at exit, as ComfyUI does.
    await expect(stat(path.join(base, 'tmp', 'temp'))).rejects.toThrow();
  });

  it('exits 1 with an error when the port is busy', async () => {
    const server = createServer();
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const child = launch(['--port', String(port)]);
    children.push(child);
    expect(await child.exited).toBe(1);
    expect(child.stderr()).toContain('address already in use');
  });

  it('exits 0 before binding with --quick-test-for-ci, 2 on a bad command line', async () => {
    const port = await freePort();
    const quick = launch(['--port', String(port), '--quick-test-for-ci']);
    children.push(quick);
    expect(await quick.exited).toBe(0);
    const bad = launch(['--port', 'abc', '--node-packs', 'x']);
    children.push(bad);
    expect(await bad.exited).toBe(2);
    expect(bad.stderr()).toContain('main.py: error: --port: invalid port "abc"');
  });

  it('exits with the requested code on POST /__emulator/exit (a crash) and leaves no temp base', async () => {
    const port = await freePort();
    const child = launch(['--port', String(port)]);
    children.push(child);
    const [, url] = await waitForLine(child, /To see the GUI go to: (http:\/\/\S+)/);
    const before = await readdir('/dev/shm').catch(() => [] as string[]);
    const res = await postJson(url as string, '/__emulator/exit', { code: 3 });
    expect(res.json()).toEqual({ exiting: 3 });
    expect(await child.exited).toBe(3);
    const after = await readdir('/dev/shm').catch(() => [] as string[]);
    expect(after.filter((f) => f.startsWith('comfy-emulator-')).length).toBeLessThanOrEqual(
      before.filter((f) => f.startsWith('comfy-emulator-')).length,
    );
  });
});
