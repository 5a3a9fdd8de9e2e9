import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const cliMain = fileURLToPath(new URL('../main.ts', import.meta.url));

function listen(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/** A port p with p and p+1 free (checked by binding both, then released). */
async function freePortPair(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 30000);
    const a = await listen(port);
    const b = a === undefined ? undefined : await listen(port + 1);
    for (const s of [a, b]) if (s !== undefined) await new Promise((r) => s.close(r));
    if (a !== undefined && b !== undefined) return port;
  }
  throw new Error('no free port pair');
}

interface Run {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
}

function run(args: string[]): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', cliMain, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return { child, stdout: () => out, stderr: () => err, exited };
}

describe('comfy-cluster emulate', () => {
  const runs: Run[] = [];
  const servers: Server[] = [];
  afterEach(async () => {
    for (const r of runs.splice(0)) {
      if (r.child.exitCode === null && r.child.signalCode === null) {
        r.child.kill('SIGKILL');
        await r.exited;
      }
    }
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  });

  it('starts N instances on consecutive ports, prints their URLs, stops on SIGTERM', async () => {
    const port = await freePortPair();
    const r = run(['emulate', '--instances', '2', '--port', String(port), '--speed', 'Infinity']);
    runs.push(r);
    for (let i = 0; i < 300 && !r.stdout().includes('instance 2:'); i++) {
      if (r.child.exitCode !== null) throw new Error(r.stderr());
      await new Promise((res) => setTimeout(res, 50));
    }
    expect(r.stdout()).toBe(
      `instance 1: http://127.0.0.1:${port}\ninstance 2: http://127.0.0.1:${port + 1}\n`,
    );
    for (const p of [port, port + 1]) {
      const res = await fetch(`http://127.0.0.1:${p}/system_stats`);
      expect(res.status).toBe(200);
    }
    r.child.kill('SIGTERM');
    expect(await r.exited).toBe(0);
  });

  it('reports a busy port in one line and exits 1', async () => {
    const port = await freePortPair();
    const blocker = await listen(port + 1);
    if (blocker === undefined) throw new Error('could not occupy the port');
    servers.push(blocker);
    const r = run(['emulate', '--instances', '2', '--port', String(port)]);
    runs.push(r);
    expect(await r.exited).toBe(1);
    expect(r.stderr()).toBe(
      `comfy-cluster emulate: port ${port + 1} on 127.0.0.1 is already in use\n`,
    );
  });

  it('rejects bad option values', async () => {
    const r = run(['emulate', '--instances', 'two']);
    runs.push(r);
    expect(await r.exited).toBe(1);
    expect(r.stderr()).toContain('--instances must be a whole number');
  });
});
