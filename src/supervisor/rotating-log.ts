import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';

/** Where a captured line came from; `supervisor` lines are the supervisor's own notes. */
export type LogStream = 'stdout' | 'stderr' | 'supervisor';

/** One captured line. */
export interface LogLine {
  /** ms since epoch. */
  time: number;
  stream: LogStream;
  text: string;
}

export interface RotatingLogOptions {
  /** The live file, e.g. `<dataDir>/logs/comfyui-gpu0.log`; rotated copies get `.1`, `.2`, … */
  file: string;
  /** Rotate when the live file would grow past this. Default 10 MiB. */
  maxBytes?: number;
  /** Rotated files kept (the oldest is deleted). Default 5. */
  maxFiles?: number;
  /** Lines kept in memory for {@link RotatingLog.tail}. Default 1000. */
  memoryLines?: number;
}

const LINE = /^(\d{4}-\d\d-\d\dT[\d:.]+Z) (stdout|stderr|supervisor) (.*)$/;

/**
 * A per-instance log: every line goes to a size-rotated file (`name.log`, `name.log.1`, …) and to
 * an in-memory ring for the API. Writes are synchronous, so rotation is exact and a crash loses
 * nothing already written.
 *
 * @example
 * const log = new RotatingLog({ file: '/var/log/cc/comfyui-gpu0.log', maxBytes: 1 << 20 });
 * log.write('stdout', 'Starting server');
 * log.tail(20); // [{ time, stream: 'stdout', text: 'Starting server' }]
 */
export class RotatingLog {
  readonly file: string;
  readonly #maxBytes: number;
  readonly #maxFiles: number;
  readonly #memoryLines: number;
  readonly #ring: LogLine[] = [];
  #fd: number | null = null;
  #size = 0;

  constructor(options: RotatingLogOptions) {
    this.file = options.file;
    this.#maxBytes = options.maxBytes ?? 10 * 1024 * 1024;
    this.#maxFiles = Math.max(0, options.maxFiles ?? 5);
    this.#memoryLines = Math.max(1, options.memoryLines ?? 1000);
  }

  /** Appends one line (a trailing newline is added). */
  write(stream: LogStream, text: string, time = Date.now()): void {
    this.#ring.push({ time, stream, text });
    if (this.#ring.length > this.#memoryLines)
      this.#ring.splice(0, this.#ring.length - this.#memoryLines);
    const bytes = Buffer.from(`${new Date(time).toISOString()} ${stream} ${text}\n`);
    try {
      const fd = this.#open();
      if (this.#size > 0 && this.#size + bytes.length > this.#maxBytes) this.#rotate();
      writeSync(this.#fd ?? fd, bytes);
      this.#size += bytes.length;
    } catch {
      // A full or missing disk must not take the instance down; the memory tail still works.
    }
  }

  /** The last `n` lines seen by this process (newest last). */
  tail(n = 100): LogLine[] {
    return this.#ring.slice(-Math.max(0, n));
  }

  /**
   * The last `n` lines from the files on disk (live file, then rotated ones), for logs written
   * before this process started.
   */
  readTail(n = 100): LogLine[] {
    const lines: LogLine[] = [];
    for (const file of this.files()) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        continue;
      }
      const parsed = text
        .split('\n')
        .filter((l) => l !== '')
        .map((l): LogLine => {
          const m = LINE.exec(l);
          return m
            ? { time: Date.parse(m[1] ?? ''), stream: m[2] as LogStream, text: m[3] ?? '' }
            : { time: 0, stream: 'stdout', text: l };
        });
      lines.unshift(...parsed);
      if (lines.length >= n) break;
    }
    return lines.slice(-Math.max(0, n));
  }

  /** Existing log files, newest first. */
  files(): string[] {
    const all = [this.file];
    for (let i = 1; i <= this.#maxFiles; i++) all.push(`${this.file}.${i}`);
    return all.filter((f) => existsSync(f));
  }

  close(): void {
    if (this.#fd !== null) {
      try {
        closeSync(this.#fd);
      } catch {
        // already closed
      }
      this.#fd = null;
    }
  }

  #open(): number {
    if (this.#fd !== null) return this.#fd;
    mkdirSync(dirname(this.file), { recursive: true });
    this.#fd = openSync(this.file, 'a');
    this.#size = fstatSync(this.#fd).size;
    return this.#fd;
  }

  #rotate(): void {
    this.close();
    if (this.#maxFiles === 0) {
      rmSync(this.file, { force: true });
    } else {
      rmSync(`${this.file}.${this.#maxFiles}`, { force: true });
      for (let i = this.#maxFiles - 1; i >= 1; i--) {
        if (existsSync(`${this.file}.${i}`))
          renameSync(`${this.file}.${i}`, `${this.file}.${i + 1}`);
      }
      renameSync(this.file, `${this.file}.1`);
    }
    this.#open();
  }
}
