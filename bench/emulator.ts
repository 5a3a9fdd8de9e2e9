/**
 * bench/emulator: trivial prompts per second through ONE emulator process, end to end:
 * POST /prompt → WebSocket execution_success → GET /history/{id}.
 *
 * The emulator runs as its own process (as a supervisor would start it) with instant nodes, so the
 * figure is the protocol path's cost: HTTP parsing, validation, queueing, execution bookkeeping,
 * the WebSocket messages of every prompt, history records and the output PNG written to disk.
 * Goal: ≥ 5,000 prompts/s on a 2-core machine, so the emulator never bottlenecks later benchmarks.
 *
 * The client shares the machine's cores, so prompts/s moves with whatever else runs; the
 * emulator's own CPU time per prompt (user + system, from the OS) is the steadier figure to
 * compare changes by. Run it on an idle machine, and after `npm run build` when dist/ exists:
 * the bench starts dist/emulator/main.js then, not the sources.
 */
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import pidusage from 'pidusage';
import WebSocket from 'ws';
import { startEmulatorProcess } from './lib/processes.js';
import { fixed, quantile } from './lib/stats.js';

const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 64);
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 2000);
const MEASURE_MS = Number(process.env.BENCH_MEASURE_MS ?? 8000);

function trivialPrompt(n: number) {
  return {
    '1': {
      class_type: 'EmptyImage',
      // A different colour per prompt defeats the node cache: every prompt really runs.
      inputs: { width: 8, height: 8, batch_size: 1, color: n % 0xffffff },
    },
    '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'bench' } },
  };
}

function httpJson(
  agent: Agent,
  base: URL,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        agent,
        host: base.hostname,
        port: base.port,
        method,
        path,
        headers: payload
          ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
          : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          try {
            resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : null });
          } catch (err) {
            reject(err);
          }
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** What one measurement of a running emulator process gives. */
export interface EmulatorBenchResult {
  completed: number;
  elapsedS: number;
  failures: number;
  latenciesMs: number[];
  /** CPU time (user + system) the emulator process spent during the measurement, in ms. */
  emulatorCpuMs: number;
}

/** The emulator process's cumulative CPU time (user + system), in ms. */
async function cpuMs(pid: number): Promise<number> {
  return (await pidusage(pid)).ctime;
}

/**
 * Drives an already running emulator (its URL and process id) with IN_FLIGHT concurrent prompt
 * loops: a warm-up, then a measured window.
 *
 * @example
 * const r = await measureEmulator(new URL('http://127.0.0.1:8188'), child.pid);
 */
export async function measureEmulator(base: URL, pid: number): Promise<EmulatorBenchResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  const clientId = randomUUID();
  const waiting = new Map<string, () => void>();
  const socket = new WebSocket(`ws://${base.host}/ws?clientId=${clientId}`);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  socket.on('message', (data, isBinary) => {
    if (isBinary) return;
    const text = data.toString();
    // Cheap pre-filter: only execution_success matters here.
    if (!text.includes('"execution_success"')) return;
    const message = JSON.parse(text) as { data: { prompt_id: string } };
    waiting.get(message.data.prompt_id)?.();
  });

  let submitted = 0;
  let completed = 0;
  let failures = 0;
  const latencies: number[] = [];
  let measuring = false;
  let stop = false;

  async function worker(): Promise<void> {
    while (!stop) {
      const promptId = randomUUID();
      const started = performance.now();
      const done = new Promise<void>((resolve) => waiting.set(promptId, resolve));
      const post = await httpJson(agent, base, 'POST', '/prompt', {
        prompt: trivialPrompt(submitted++),
        client_id: clientId,
        prompt_id: promptId,
      });
      if (post.status !== 200) {
        failures++;
        waiting.delete(promptId);
        continue;
      }
      await done;
      waiting.delete(promptId);
      const history = await httpJson(agent, base, 'GET', `/history/${promptId}`);
      const record = (history.json as Record<string, { status?: { completed?: boolean } }>)[
        promptId
      ];
      if (!record?.status?.completed) failures++;
      if (measuring) {
        completed++;
        latencies.push(performance.now() - started);
      }
    }
  }

  const workers = Array.from({ length: IN_FLIGHT }, () => worker());
  await new Promise((r) => setTimeout(r, WARMUP_MS));
  const cpu0 = await cpuMs(pid);
  measuring = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, MEASURE_MS));
  measuring = false;
  const elapsedS = (performance.now() - t0) / 1000;
  const emulatorCpuMs = (await cpuMs(pid)) - cpu0;
  stop = true;
  await Promise.all(workers);
  socket.close();
  agent.destroy();
  pidusage.clear();
  return { completed, elapsedS, failures, latenciesMs: latencies, emulatorCpuMs };
}

/** Prints one measurement. */
export function reportEmulatorBench(r: EmulatorBenchResult): void {
  const rate = r.completed / r.elapsedS;
  console.log(
    `trivial prompts end to end (POST /prompt → WS execution_success → GET /history), ${IN_FLIGHT} in flight`,
  );
  console.log(
    `  ${r.completed} prompts in ${fixed(r.elapsedS, 1)} s = ${fixed(rate, 0)} prompts/s` +
      ` (goal ≥ 5000: ${rate >= 5000 ? 'met' : 'NOT met'})`,
  );
  console.log(
    `  latency p50 ${fixed(quantile(r.latenciesMs, 0.5))} ms, p95 ${fixed(quantile(r.latenciesMs, 0.95))} ms, failures ${r.failures}`,
  );
  // The figure that does not depend on what else the machine is doing (the client's own CPU
  // shares these cores): the emulator's CPU time per prompt.
  const perPrompt = r.completed > 0 ? (r.emulatorCpuMs * 1000) / r.completed : Number.NaN;
  console.log(
    `  emulator CPU ${fixed(perPrompt, 0)} µs per prompt (${fixed((r.emulatorCpuMs / 1000 / r.elapsedS) * 100, 0)}% of one core)`,
  );
}

export async function main(): Promise<void> {
  const emulator = await startEmulatorProcess(['--speed', 'Infinity']);
  try {
    const pid = emulator.child.pid;
    if (pid === undefined) throw new Error('emulator process has no pid');
    reportEmulatorBench(await measureEmulator(new URL(emulator.url), pid));
  } finally {
    await emulator.stop();
  }
}
