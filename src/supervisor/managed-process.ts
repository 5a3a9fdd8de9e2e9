import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { httpUrl } from './instance-plan.js';
import { LineSplitter } from './line-splitter.js';
import { cleanupLeftover, removePidRecord, writePidRecord } from './pid-file.js';
import { assertPortFree, PortInUseError } from './port-check.js';
import { processStartTime, signalGroup, waitForGroupExit } from './process-tree.js';
import { type LogLine, type LogStream, RotatingLog } from './rotating-log.js';

/** Lifecycle status, in the project's vocabulary (`paused` is the fleet's, not a process state). */
export type ProcessStatus = 'stopped' | 'starting' | 'running' | 'stopping' | 'error';

/** Why a managed process is in `error`. */
export type ManagedProcessErrorCode =
  | 'PORT_IN_USE'
  | 'STARTUP_TIMEOUT'
  | 'CRASH_LOOP'
  | 'SPAWN_FAILED'
  | 'START_ABORTED';

/** Thrown by {@link ManagedProcess.start} and kept in its state while `error`. */
export class ManagedProcessError extends Error {
  override readonly name = 'ManagedProcessError';
  constructor(
    readonly code: ManagedProcessErrorCode,
    message: string,
    /** The last captured output lines when it failed. */
    readonly logTail: string[] = [],
  ) {
    super(message);
  }
}

export interface RestartPolicy {
  /** Wait before a restart after an unexpected exit. Default 5000 ms (PM2's restart_delay). */
  delayMs?: number;
  /** Automatic restarts allowed within `windowMs`; one more exit → `error`. Default 10. */
  maxRestarts?: number;
  /** Default 15 minutes. */
  windowMs?: number;
}

export interface ReadinessCheck {
  /** Default /system_stats (answers 200 JSON once ComfyUI serves). */
  path?: string;
  /**
   * Give up (status `error`, process ended) after this long. Default 300000 ms: ComfyUI imports
   * every custom node before it serves, which takes minutes with large packs.
   */
  timeoutMs?: number;
  /** Poll interval. Default 500 ms. */
  intervalMs?: number;
}

export interface ManagedProcessOptions {
  /** Instance name, e.g. comfyui-gpu0; names the pid and log files. */
  name: string;
  command: string;
  args: readonly string[];
  cwd?: string;
  /** Added to the supervisor's own environment. */
  env?: Readonly<Record<string, string>>;
  /** Address to reach it for readiness. */
  host: string;
  port: number;
  /** Its --listen value, probed for a port conflict before each start. Default `host`. */
  listen?: string;
  /** Created before each start. */
  createDirs?: readonly string[];
  /** Pid files live here; a later supervisor uses them to end leftovers. */
  runDir: string;
  log: { file: string; maxBytes?: number; maxFiles?: number; memoryLines?: number };
  restart?: RestartPolicy;
  readiness?: ReadinessCheck;
  /** SIGTERM → SIGKILL escalation on stop. Default 10000 ms. */
  stopGraceMs?: number;
}

/** A status change, as emitted and as the fleet consumes it. */
export interface StatusChange {
  name: string;
  status: ProcessStatus;
  previous: ProcessStatus;
  /** Short words: "ready", "exit code 1, restart 2/10 in 5000 ms", error message, … */
  reason: string;
  at: number;
}

/** How a child process ended. */
export interface ExitInfo {
  name: string;
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when the supervisor asked it to stop. */
  expected: boolean;
  at: number;
}

/** A snapshot for the API, CLI and dashboard. */
export interface ManagedProcessState {
  name: string;
  status: ProcessStatus;
  pid: number | null;
  host: string;
  port: number;
  url: string;
  /** When the current process was spawned (ms). */
  startedAt: number | null;
  /** When it answered the readiness check (ms). */
  readyAt: number | null;
  /** Automatic restarts since the last manual start. */
  restarts: number;
  lastExit: { code: number | null; signal: NodeJS.Signals | null; at: number } | null;
  error: { code: ManagedProcessErrorCode; message: string; at: number; logTail: string[] } | null;
  logFile: string;
}

/** Events of a {@link ManagedProcess}. */
export interface ManagedProcessEvents {
  status: [StatusChange];
  exit: [ExitInfo];
  output: [{ name: string } & LogLine];
}

const TAIL_FOR_ERRORS = 20;

/**
 * One supervised server process (a ComfyUI instance): spawned in its own process group, ready
 * when GET /system_stats answers 200 JSON, restarted after `restart.delayMs` when it exits on its
 * own (at most `restart.maxRestarts` times within `restart.windowMs`, then `error`), stopped with
 * SIGTERM then SIGKILL to the whole group, stdout/stderr captured into a rotating log.
 *
 * @example
 * const proc = new ManagedProcess({ name: 'comfyui-gpu0', command: python, args: ['main.py', '--port', '8188'],
 *   host: '127.0.0.1', port: 8188, runDir, log: { file: `${logDir}/comfyui-gpu0.log` } });
 * proc.on('status', (c) => console.log(c.name, c.status, c.reason));
 * await proc.start(); // resolves once /system_stats answers; rejects with ManagedProcessError
 * await proc.stop();
 */
export class ManagedProcess extends EventEmitter<ManagedProcessEvents> {
  readonly name: string;
  readonly log: RotatingLog;
  readonly #options: ManagedProcessOptions;
  readonly #delayMs: number;
  readonly #maxRestarts: number;
  readonly #windowMs: number;
  readonly #graceMs: number;
  #status: ProcessStatus = 'stopped';
  #child: ChildProcess | null = null;
  /** Bumped whenever a launch must be abandoned; async steps compare before acting. */
  #generation = 0;
  /** What an exit means: keep running (restart), stopping on request, or failed for good. */
  #intent: 'run' | 'stop' | 'fail' = 'stop';
  #restartTimer: NodeJS.Timeout | null = null;
  #restartTimes: number[] = [];
  #restarts = 0;
  #startedAt: number | null = null;
  #readyAt: number | null = null;
  #lastExit: ManagedProcessState['lastExit'] = null;
  #error: ManagedProcessError | null = null;
  #errorAt = 0;
  #readyAbort: AbortController | null = null;
  #stopping: Promise<void> | null = null;
  /** Until then a taken port is waited for: a leftover just ended may still hold it. */
  #portGraceUntil = 0;

  constructor(options: ManagedProcessOptions) {
    super();
    this.name = options.name;
    this.#options = options;
    this.#delayMs = options.restart?.delayMs ?? 5000;
    this.#maxRestarts = options.restart?.maxRestarts ?? 10;
    this.#windowMs = options.restart?.windowMs ?? 15 * 60_000;
    this.#graceMs = options.stopGraceMs ?? 10_000;
    this.log = new RotatingLog(options.log);
  }

  get status(): ProcessStatus {
    return this.#status;
  }

  get pid(): number | null {
    return this.#child?.pid ?? null;
  }

  get url(): string {
    return httpUrl(this.#options.host, this.#options.port);
  }

  state(): ManagedProcessState {
    return {
      name: this.name,
      status: this.#status,
      pid: this.pid,
      host: this.#options.host,
      port: this.#options.port,
      url: this.url,
      startedAt: this.#startedAt,
      readyAt: this.#readyAt,
      restarts: this.#restarts,
      lastExit: this.#lastExit,
      error: this.#error
        ? {
            code: this.#error.code,
            message: this.#error.message,
            at: this.#errorAt,
            logTail: this.#error.logTail,
          }
        : null,
      logFile: this.log.file,
    };
  }

  /**
   * A leftover of an earlier run under this name was just ended (by the supervisor's cleanup):
   * its port may stay taken a moment while the kernel tears it down, so the next start waits
   * for it a few seconds instead of calling it a conflict at once.
   */
  leftoverEnded(): void {
    this.#portGraceUntil = Date.now() + 5000;
  }

  /** Last `n` captured lines (from disk when this process has captured none yet). */
  logTail(n = 100): LogLine[] {
    const memory = this.log.tail(n);
    return memory.length > 0 ? memory : this.log.readTail(n);
  }

  /**
   * Starts it (a no-op when running) and resolves once it is ready. Rejects with a
   * {@link ManagedProcessError} when it ends in `error` (port taken, start-up timeout, crash
   * loop) or is stopped first. A manual start clears the restart count.
   */
  async start(): Promise<void> {
    if (this.#stopping) await this.#stopping;
    if (this.#status === 'running') return;
    if (this.#status !== 'starting') {
      this.#restartTimes = [];
      this.#restarts = 0;
      this.#error = null;
      this.#intent = 'run';
      this.#setStatus('starting', 'start requested');
      void this.#launch();
    }
    return this.#settled();
  }

  /** Stops it: SIGTERM to its process group, SIGKILL after the grace period. Idempotent. */
  stop(): Promise<void> {
    if (this.#stopping) return this.#stopping;
    this.#stopping = this.#stop().finally(() => {
      this.#stopping = null;
    });
    return this.#stopping;
  }

  /** Stop then start (e.g. a hung job escalated); `reason` goes into the log. */
  async restart(reason = 'restart requested'): Promise<void> {
    this.#note(`restart: ${reason}`);
    await this.stop();
    await this.start();
  }

  /**
   * Synchronous last resort for process 'exit' handlers: SIGKILL the group, drop the pid file.
   */
  killSync(): void {
    this.#intent = 'stop';
    this.#generation++;
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    const pid = this.#child?.pid;
    if (pid !== undefined) signalGroup(pid, 'SIGKILL');
    removePidRecord(this.#options.runDir, this.name);
  }

  async #stop(): Promise<void> {
    if (this.#restartTimer) {
      clearTimeout(this.#restartTimer);
      this.#restartTimer = null;
    }
    this.#intent = 'stop';
    this.#generation++;
    this.#readyAbort?.abort();
    const child = this.#child;
    if (!child || child.pid === undefined) {
      this.#setStatus('stopped', 'stop requested');
      return;
    }
    const pid = child.pid;
    this.#setStatus('stopping', 'stop requested');
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    signalGroup(pid, 'SIGTERM');
    const inTime = await Promise.race([exited.then(() => true), sleep(this.#graceMs, false)]);
    if (!inTime) {
      this.#note(`no exit ${this.#graceMs} ms after SIGTERM: sending SIGKILL`);
      signalGroup(pid, 'SIGKILL');
      await Promise.race([exited, sleep(5000)]);
    }
    // Leftover group members (processes ComfyUI started) go too.
    signalGroup(pid, 'SIGKILL');
    await waitForGroupExit(pid, 2000);
    this.#setStatus('stopped', inTime ? 'stopped' : 'killed after grace period');
  }

  #settled(): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        if (this.#status === 'running') resolve();
        else if (this.#status === 'error') {
          reject(this.#error ?? new ManagedProcessError('START_ABORTED', `${this.name} failed`));
        } else if (this.#status === 'stopped' || this.#status === 'stopping') {
          reject(
            new ManagedProcessError(
              'START_ABORTED',
              `${this.name} was stopped before it was ready`,
            ),
          );
        } else return false;
        return true;
      };
      if (check()) return;
      const onStatus = () => {
        if (check()) this.off('status', onStatus);
      };
      this.on('status', onStatus);
    });
  }

  async #launch(): Promise<void> {
    const generation = ++this.#generation;
    const o = this.#options;
    try {
      const leftover = await cleanupLeftover(o.runDir, this.name, Math.min(this.#graceMs, 5000));
      if (leftover?.outcome === 'killed') {
        this.#note(`ended leftover process group ${leftover.pid} from a previous run`);
      }
      if (generation !== this.#generation) return;
      // A leftover we just ended may hold its port a moment longer while the kernel tears it
      // down (seen on a loaded machine): give it a few seconds before calling it a conflict.
      if (leftover?.outcome === 'killed') this.leftoverEnded();
      const portDeadline = this.#portGraceUntil;
      for (;;) {
        try {
          await assertPortFree(o.listen ?? o.host, o.port);
          break;
        } catch (error) {
          if (!(error instanceof PortInUseError) || Date.now() >= portDeadline) throw error;
          await sleep(50);
        }
      }
      if (generation !== this.#generation) return;
      for (const dir of o.createDirs ?? []) mkdirSync(dir, { recursive: true });
    } catch (error) {
      if (generation !== this.#generation) return;
      if (error instanceof PortInUseError) this.#fail('PORT_IN_USE', error.message);
      else this.#fail('SPAWN_FAILED', `${this.name} cannot start: ${(error as Error).message}`);
      return;
    }

    let child: ChildProcess;
    try {
      child = spawn(o.command, [...o.args], {
        cwd: o.cwd,
        env: { ...process.env, ...o.env },
        detached: true, // own process group: stop and cleanup reach everything it starts
        stdio: ['ignore', 'pipe', 'pipe'],
        windowsHide: true,
      });
    } catch (error) {
      this.#fail('SPAWN_FAILED', `cannot run ${o.command}: ${(error as Error).message}`);
      return;
    }
    const pid = child.pid;
    if (pid === undefined) {
      child.once('error', (error) => {
        if (generation === this.#generation) {
          this.#fail('SPAWN_FAILED', `cannot run ${o.command}: ${error.message}`);
        }
      });
      return;
    }
    this.#child = child;
    this.#startedAt = Date.now();
    this.#readyAt = null;
    writePidRecord(o.runDir, {
      name: this.name,
      pid,
      pgid: pid,
      argv: [o.command, ...o.args],
      start_time: processStartTime(pid),
      started_at: new Date().toISOString(),
      supervisor_pid: process.pid,
      supervisor_start_time: processStartTime(process.pid),
    });
    this.#note(`started pid ${pid}: ${[o.command, ...o.args].join(' ')}`);
    this.#capture(child, 'stdout');
    this.#capture(child, 'stderr');
    child.once('error', (error) => this.#note(`process error: ${error.message}`));
    child.once('exit', (code, signal) => this.#onExit(child, pid, code, signal));
    await this.#waitReady(generation, child);
  }

  #capture(child: ChildProcess, stream: 'stdout' | 'stderr'): void {
    const source = child[stream];
    if (!source) return;
    const splitter = new LineSplitter((line) => this.#line(stream, line));
    source.on('data', (chunk: Buffer) => splitter.push(chunk));
    source.on('end', () => splitter.end());
    source.on('error', () => splitter.end());
  }

  #line(stream: LogStream, text: string): void {
    const time = Date.now();
    this.log.write(stream, text, time);
    this.emit('output', { name: this.name, time, stream, text });
  }

  #note(text: string): void {
    this.#line('supervisor', text);
  }

  async #waitReady(generation: number, child: ChildProcess): Promise<void> {
    const o = this.#options;
    const timeoutMs = o.readiness?.timeoutMs ?? 300_000;
    const intervalMs = o.readiness?.intervalMs ?? 500;
    const url = `${this.url}${o.readiness?.path ?? '/system_stats'}`;
    const abort = new AbortController();
    this.#readyAbort = abort;
    const deadline = Date.now() + timeoutMs;
    const current = () =>
      generation === this.#generation && this.#child === child && !abort.signal.aborted;
    while (current()) {
      if (await probe(url, Math.min(2000, Math.max(100, intervalMs * 4)), abort.signal)) {
        if (!current()) return;
        this.#readyAt = Date.now();
        this.#setStatus(
          'running',
          `ready after ${this.#readyAt - (this.#startedAt ?? this.#readyAt)} ms`,
        );
        return;
      }
      if (Date.now() >= deadline) {
        if (!current()) return;
        this.#fail('STARTUP_TIMEOUT', `${this.name} did not answer ${url} within ${timeoutMs} ms`);
        return;
      }
      try {
        await sleep(intervalMs, undefined, { signal: abort.signal });
      } catch {
        return;
      }
    }
  }

  #onExit(
    child: ChildProcess,
    pid: number,
    code: number | null,
    signal: NodeJS.Signals | null,
  ): void {
    const at = Date.now();
    if (this.#child === child) this.#child = null;
    this.#readyAbort?.abort();
    // Anything it started in its group must not outlive it (it could hold the port).
    signalGroup(pid, 'SIGKILL');
    removePidRecord(this.#options.runDir, this.name);
    this.#lastExit = { code, signal, at };
    const expected = this.#intent !== 'run';
    this.#note(
      `pid ${pid} exited (${describeExit(code, signal)})${expected ? '' : ' unexpectedly'}`,
    );
    this.emit('exit', { name: this.name, pid, code, signal, expected, at });
    if (this.#intent === 'run') this.#scheduleRestart(describeExit(code, signal));
  }

  #scheduleRestart(exit: string): void {
    const now = Date.now();
    this.#restartTimes = this.#restartTimes.filter((t) => now - t < this.#windowMs);
    if (this.#restartTimes.length >= this.#maxRestarts) {
      this.#fail(
        'CRASH_LOOP',
        `${this.name} exited (${exit}) after ${this.#restartTimes.length} restart(s) within ${Math.round(
          this.#windowMs / 1000,
        )} s: giving up`,
      );
      return;
    }
    this.#restartTimes.push(now);
    this.#restarts++;
    const attempt = `${this.#restartTimes.length}/${this.#maxRestarts}`;
    this.#setStatus('starting', `${exit}: restart ${attempt} in ${this.#delayMs} ms`, true);
    this.#note(`restart ${attempt} in ${this.#delayMs} ms`);
    const generation = this.#generation;
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = null;
      if (this.#intent === 'run' && generation === this.#generation) void this.#launch();
    }, this.#delayMs);
  }

  #fail(code: ManagedProcessErrorCode, message: string): void {
    this.#intent = 'fail';
    if (this.#restartTimer) {
      clearTimeout(this.#restartTimer);
      this.#restartTimer = null;
    }
    this.#readyAbort?.abort();
    this.#note(message);
    const tail = this.log
      .tail(TAIL_FOR_ERRORS + 1)
      .filter((l) => l.stream !== 'supervisor' || l.text !== message)
      .slice(-TAIL_FOR_ERRORS)
      .map((l) => `[${l.stream}] ${l.text}`);
    this.#error = new ManagedProcessError(code, message, tail);
    this.#errorAt = Date.now();
    const child = this.#child;
    this.#setStatus('error', message);
    if (child?.pid !== undefined) {
      // A process that never became ready is ended (its exit does not restart it: intent=fail).
      signalGroup(child.pid, 'SIGKILL');
    }
  }

  #setStatus(status: ProcessStatus, reason: string, always = false): void {
    const previous = this.#status;
    if (previous === status && !always) return;
    this.#status = status;
    this.emit('status', { name: this.name, status, previous, reason, at: Date.now() });
  }
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `signal ${signal}` : `exit code ${code}`;
}

async function probe(url: string, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
  try {
    const response = await fetch(url, {
      signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
    });
    if (response.status !== 200) {
      await response.body?.cancel();
      return false;
    }
    const body: unknown = await response.json();
    return typeof body === 'object' && body !== null;
  } catch {
    return false;
  }
}
