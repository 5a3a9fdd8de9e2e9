/**
 * bench/overhead: the latency the gateway adds. The same trivial workflow (EmptyImage → SaveImage,
 * a new color each time so nothing is cached) is run N times in sequence, each time to the end
 * (output file downloaded):
 *
 * - direct: POST /prompt to the emulated instance, wait for it on /ws, GET /history, GET /view;
 * - gateway, native API: POST /api/v1/jobs?wait=true, GET /api/v1/jobs/{id}/outputs/0;
 * - gateway, drop-in: the direct client's exact calls against the gateway (/prompt + /ws), when
 *   the gateway serves the ComfyUI-compatible routes (else reported as not available).
 *
 * The emulator (speed Infinity) runs in a child process; the gateway runs in this process
 * (startGateway, SQLite in a temp dir), so its CPU is shared with the client, as on one host.
 * Goal: gateway p50 ≤ 1.10 × direct.
 *
 * Then the floor of the native path, measured in the same run: direct + the two round trips a
 * client makes to the gateway (POST, GET output; measured as GET /livez) + one durable output
 * write as the output store does it (temp file, fsync, rename) of the same PNG. What is above
 * that is the gateway's own work (validation, store commits, scheduling, bookkeeping).
 *
 * npm run bench -- overhead      (OVERHEAD_N=300 to change the count)
 */
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import WebSocket from 'ws';
import { startGateway } from '../src/api/server.js';
import { OutputStore } from '../src/jobs/index.js';
import { startEmulatorProcess } from './lib/processes.js';
import { fixed, quantile } from './lib/stats.js';

const workflow = (color: number) => ({
  '1': { class_type: 'EmptyImage', inputs: { width: 64, height: 64, batch_size: 1, color } },
  '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'overhead' } },
});

/** A ComfyUI client as scripts write it: one /ws per client id, POST /prompt, history, view. */
class ComfyClient {
  readonly #ws: WebSocket;
  readonly #waiters = new Map<string, () => void>();
  readonly #done = new Set<string>();

  private constructor(
    readonly base: string,
    readonly clientId: string,
    ws: WebSocket,
  ) {
    this.#ws = ws;
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      let msg: { type?: string; data?: { prompt_id?: string; node?: unknown } };
      try {
        msg = JSON.parse(String(data));
      } catch {
        return;
      }
      const id = msg.data?.prompt_id;
      if (!id) return;
      const finished =
        msg.type === 'execution_success' ||
        msg.type === 'execution_error' ||
        (msg.type === 'executing' && msg.data?.node === null);
      if (!finished) return;
      const w = this.#waiters.get(id);
      if (w) w();
      else this.#done.add(id);
    });
  }

  static async open(base: string): Promise<ComfyClient> {
    const clientId = randomUUID();
    const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/ws?clientId=${clientId}`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new ComfyClient(base, clientId, ws);
  }

  async run(color: number): Promise<number> {
    const res = await fetch(`${this.base}/prompt`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: workflow(color), client_id: this.clientId }),
    });
    if (!res.ok) throw new Error(`POST /prompt: HTTP ${res.status} ${await res.text()}`);
    const { prompt_id } = (await res.json()) as { prompt_id: string };
    if (!this.#done.delete(prompt_id)) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no finish for ${prompt_id}`)), 30_000);
        this.#waiters.set(prompt_id, () => {
          clearTimeout(timer);
          this.#waiters.delete(prompt_id);
          resolve();
        });
      });
    }
    const history = (await (await fetch(`${this.base}/history/${prompt_id}`)).json()) as Record<
      string,
      {
        outputs: Record<
          string,
          { images?: Array<{ filename: string; subfolder: string; type: string }> }
        >;
      }
    >;
    const image = Object.values(history[prompt_id]?.outputs ?? {})[0]?.images?.[0];
    if (!image) throw new Error(`no output for ${prompt_id}`);
    const view = await fetch(
      `${this.base}/view?filename=${encodeURIComponent(image.filename)}&subfolder=${encodeURIComponent(image.subfolder)}&type=${image.type}`,
    );
    return (await view.arrayBuffer()).byteLength;
  }

  close(): void {
    this.#ws.close();
  }
}

async function nativeRun(base: string, color: number): Promise<number> {
  const res = await fetch(`${base}/api/v1/jobs?wait=true&timeout=30`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ workflow: workflow(color) }),
  });
  if (res.status !== 200)
    throw new Error(`POST /api/v1/jobs: HTTP ${res.status} ${await res.text()}`);
  const job = (await res.json()) as { status: string; outputs: Array<{ url: string }> };
  if (job.status !== 'completed' || !job.outputs[0]) throw new Error(`job ${job.status}`);
  return (await (await fetch(`${base}${job.outputs[0].url}`)).arrayBuffer()).byteLength;
}

/** The bytes of the latest job's first output (the PNG the paths above download). */
async function lastOutput(base: string): Promise<Uint8Array | null> {
  const res = await fetch(`${base}/api/v1/jobs?limit=1&status=completed`);
  const { jobs } = (await res.json()) as { jobs: Array<{ id: string }> };
  const id = jobs[0]?.id;
  if (!id) return null;
  return new Uint8Array(await (await fetch(`${base}/api/v1/jobs/${id}/outputs/0`)).arrayBuffer());
}

/** p50 of a gateway round trip (GET /livez) and of a durable write of `bytes` (output store). */
async function measureFloor(
  base: string,
  dir: string,
  bytes: Uint8Array | null,
): Promise<{ rtt: number; write: number; writeNoSync: number }> {
  const n = 100;
  const rtts: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await (await fetch(`${base}/livez`)).arrayBuffer();
    rtts.push(performance.now() - t0);
  }
  const body = bytes ?? new Uint8Array(200);
  const store = new OutputStore(path.join(dir, 'floor'));
  const writes: number[] = [];
  const plain: number[] = [];
  for (let i = 0; i < n; i++) {
    const id = randomUUID();
    const t0 = performance.now();
    await store.save(body, store.relativePath(id, 1, 0, 'floor.png'));
    writes.push(performance.now() - t0);
    // The same steps without the fsync, for comparison (not what the gateway does).
    const t1 = performance.now();
    const folder = path.join(dir, 'floor-plain', id);
    await mkdir(folder, { recursive: true });
    await writeFile(path.join(folder, '.tmp'), body);
    await rename(path.join(folder, '.tmp'), path.join(folder, 'floor.png'));
    plain.push(performance.now() - t1);
  }
  return {
    rtt: quantile(rtts, 0.5),
    write: quantile(writes, 0.5),
    writeNoSync: quantile(plain, 0.5),
  };
}

async function measure(
  n: number,
  warmup: number,
  run: (i: number) => Promise<number>,
): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < warmup + n; i++) {
    const t0 = performance.now();
    await run(i + 1);
    if (i >= warmup) times.push(performance.now() - t0);
  }
  return times;
}

export async function main(): Promise<void> {
  const n = Number(process.env.OVERHEAD_N ?? 200);
  const warmup = 20;
  const emu = await startEmulatorProcess(['--speed', 'Infinity']);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cc-overhead-'));
  const gw = await startGateway({
    port: 0,
    dataDir: dir,
    env: {},
    quickInstances: [{ name: 'emu', host: '127.0.0.1', port: emu.port }],
    templatesDir: path.join(dir, 'templates'),
    dashboardDir: false,
    logDestination: new Writable({ write: (_c, _e, done) => done() }) as never,
    app: { rateLimit: false },
  });
  try {
    // Ready: one job through the gateway.
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        await nativeRun(gw.url, 0);
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const rows: Array<[string, number[] | null]> = [];
    const direct = await ComfyClient.open(emu.url);
    rows.push(['direct (emulator /prompt + /ws)', await measure(n, warmup, (i) => direct.run(i))]);
    direct.close();
    rows.push([
      'gateway native (/api/v1/jobs?wait=true)',
      await measure(n, warmup, (i) => nativeRun(gw.url, 1000 + i)),
    ]);
    const probe = await fetch(`${gw.url}/prompt`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    if (probe.status === 404) rows.push(['gateway drop-in (/prompt + /ws)', null]);
    else {
      const drop = await ComfyClient.open(gw.url);
      rows.push([
        'gateway drop-in (/prompt + /ws)',
        await measure(n, warmup, (i) => drop.run(2000 + i)),
      ]);
      drop.close();
    }
    const base = rows[0]?.[1] ?? [];
    const p50d = quantile(base, 0.5);
    const p95d = quantile(base, 0.95);
    process.stdout.write(`${n} sequential runs per path (after ${warmup} warm-up), ms\n`);
    process.stdout.write(
      `${'path'.padEnd(42)} ${'p50'.padStart(8)} ${'p95'.padStart(8)} ${'p50 ×'.padStart(8)} ${'p95 ×'.padStart(8)}\n`,
    );
    for (const [name, times] of rows) {
      if (!times) {
        process.stdout.write(
          `${name.padEnd(42)} not available (the gateway does not serve the drop-in routes)\n`,
        );
        continue;
      }
      const p50 = quantile(times, 0.5);
      const p95 = quantile(times, 0.95);
      process.stdout.write(
        `${name.padEnd(42)} ${fixed(p50).padStart(8)} ${fixed(p95).padStart(8)} ${fixed(p50 / p50d).padStart(8)} ${fixed(p95 / p95d).padStart(8)}\n`,
      );
    }
    const floor = await measureFloor(gw.url, dir, rows[1]?.[1] ? await lastOutput(gw.url) : null);
    process.stdout.write(
      `floor of the native path: direct ${fixed(p50d)} + 2 gateway round trips ${fixed(2 * floor.rtt)} + durable output write ${fixed(floor.write)} (of which fsync-free write ${fixed(floor.writeNoSync)}) = ${fixed(p50d + 2 * floor.rtt + floor.write)} ms = ${fixed((p50d + 2 * floor.rtt + floor.write) / p50d)} × direct (p50s)\n`,
    );
    process.stdout.write('goal: gateway p50 ≤ 1.10 × direct\n');
  } finally {
    await gw.close();
    await emu.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
