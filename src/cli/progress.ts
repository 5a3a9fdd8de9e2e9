/**
 * Live progress of jobs: one cli-progress bar per job on a terminal, plain lines elsewhere (one
 * per change, throttled), so CI logs stay readable.
 */
import cliProgress from 'cli-progress';

/** What is known about a job's progress; every field may be missing early on. */
export interface JobProgressState {
  status: string;
  phase?: string | null;
  /** 0–100 for the whole job. */
  percent?: number | null;
  /** Node id in the workflow, and its class. */
  node?: string | null;
  nodeClass?: string | null;
  step?: number | null;
  steps?: number | null;
  /** Name of the instance it runs on. */
  instance?: string | null;
  /** Why it failed or was cancelled. */
  error?: string | null;
}

/** Where and how progress is shown. */
export interface ProgressDisplayOptions {
  /** Bars (true) or plain lines (false); defaults to whether the stream is a terminal. */
  tty?: boolean;
  stream?: NodeJS.WriteStream;
  /** Plain mode: at most one line a job per this many ms for percent/step changes (1000). */
  throttleMs?: number;
  now?: () => number;
}

interface Entry {
  label: string;
  state: JobProgressState;
  bar?: cliProgress.SingleBar;
  /** Plain mode: the part of the last printed line that always prints when it changes. */
  lastKey?: string;
  lastLine?: string;
  lastAt: number;
}

const FINISHED = new Set(['completed', 'failed', 'cancelled']);

/**
 * Describes a job's state in one short line: status or phase, percent, node, step, instance.
 *
 * @example
 * describeProgress({ status: 'processing', phase: 'running', percent: 40, node: '12',
 *   nodeClass: 'KSampler', step: 8, steps: 20, instance: 'gpu-1' });
 * // 'running 40% · node 12 KSampler · step 8/20 · on gpu-1'
 */
export function describeProgress(s: JobProgressState, withPercent = true): string {
  const word = s.status === 'processing' ? (s.phase ?? 'processing') : s.status;
  const parts = [
    !withPercent || s.percent === null || s.percent === undefined || FINISHED.has(s.status)
      ? word
      : `${word} ${Math.round(s.percent)}%`,
  ];
  // Node and step belong to the run itself (not to uploading, queueing or collecting).
  const running = s.status === 'processing' && (s.phase == null || s.phase === 'running');
  if (running && s.node) {
    parts.push(`node ${s.node}${s.nodeClass ? ` ${s.nodeClass}` : ''}`);
  }
  if (running && s.step != null && s.steps != null) {
    parts.push(`step ${s.step}/${s.steps}`);
  }
  if (s.instance) parts.push(`on ${s.instance}`);
  if (s.error && (s.status === 'failed' || s.status === 'cancelled')) parts.push(s.error);
  return parts.join(' · ');
}

/**
 * Shows the progress of several jobs at once.
 *
 * @example
 * const display = new ProgressDisplay();
 * display.add(job.id, 'portrait.json');
 * display.update(job.id, { status: 'processing', phase: 'running', percent: 12 });
 * display.stop();
 */
export class ProgressDisplay {
  readonly tty: boolean;
  readonly #stream: NodeJS.WriteStream;
  readonly #throttleMs: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();
  #multi: cliProgress.MultiBar | undefined;
  #labelWidth = 0;
  #stopped = false;

  constructor(options: ProgressDisplayOptions = {}) {
    this.#stream = options.stream ?? process.stdout;
    this.tty = options.tty ?? this.#stream.isTTY === true;
    this.#throttleMs = options.throttleMs ?? 1000;
    this.#now = options.now ?? Date.now;
  }

  /** Starts showing a job under a label (a file name, a template name). */
  add(key: string, label: string, state: JobProgressState = { status: 'pending' }): void {
    if (this.#entries.has(key)) return;
    const entry: Entry = { label, state, lastAt: 0 };
    this.#entries.set(key, entry);
    this.#labelWidth = Math.max(this.#labelWidth, [...label].length);
    if (this.tty) {
      this.#multi ??= new cliProgress.MultiBar({
        stream: this.#stream,
        format: '{label} {bar} {percentage}% | {detail}',
        barsize: 24,
        hideCursor: true,
        clearOnComplete: false,
        stopOnComplete: false,
        gracefulExit: false,
        autopadding: true,
        fps: 10,
        barCompleteChar: '█',
        barIncompleteChar: '░',
      });
      entry.bar = this.#multi.create(100, 0, this.#payload(entry));
      for (const other of this.#entries.values()) other.bar?.update(this.#payload(other));
    } else {
      this.#printPlain(entry, true);
    }
  }

  /** Merges what changed into a job's state and shows it. */
  update(key: string, change: Partial<JobProgressState>): void {
    const entry = this.#entries.get(key);
    if (!entry || this.#stopped) return;
    const state = { ...entry.state, ...change };
    if (FINISHED.has(state.status)) {
      if (state.status === 'completed') state.percent = 100;
      state.node = null;
      state.step = null;
      state.steps = null;
    }
    entry.state = state;
    if (entry.bar) {
      entry.bar.update(Math.max(0, Math.min(100, Math.round(state.percent ?? 0))), {
        ...this.#payload(entry),
      });
    } else {
      this.#printPlain(entry, FINISHED.has(state.status));
    }
  }

  /** Prints a line of its own (above the bars on a terminal). */
  log(line: string): void {
    if (this.#multi && !this.#stopped) this.#multi.log(`${line}\n`);
    else this.#stream.write(`${line}\n`);
  }

  /** Draws the last frame and lets go of the terminal. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#multi?.stop();
  }

  #payload(entry: Entry): { label: string; detail: string } {
    return {
      label: entry.label.padEnd(this.#labelWidth),
      detail: describeProgress(entry.state, false),
    };
  }

  #printPlain(entry: Entry, force: boolean): void {
    const s = entry.state;
    const line = `${entry.label}: ${describeProgress(s)}`;
    if (line === entry.lastLine) return;
    // Status, phase, node and instance changes always print; percent and step ticks are throttled.
    const key = [s.status, s.phase, s.node, s.instance, s.error].join('|');
    const now = this.#now();
    if (!force && key === entry.lastKey && now - entry.lastAt < this.#throttleMs) return;
    entry.lastKey = key;
    entry.lastLine = line;
    entry.lastAt = now;
    this.#stream.write(`${line}\n`);
  }
}
