import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';

/** Options of {@link RotatingFile}. */
export interface RotatingFileOptions {
  /** The live file; rotated copies are `<file>.1` (newest) … `<file>.<maxFiles>`. */
  file: string;
  /** Rotate before the live file would grow past this (default 10 MiB). */
  maxBytes?: number;
  /** Rotated copies kept (default 5). */
  maxFiles?: number;
}

/**
 * An append-only log file rotated by size, usable as a pino destination (it has `write`).
 * Writes are synchronous, so a line is on disk once logged and rotation never splits a line.
 * A failing disk drops lines rather than taking the gateway down.
 *
 * @example
 * const combined = new RotatingFile({ file: '/var/log/cc/combined.log', maxBytes: 1 << 20 });
 * const log = pino({}, pino.multistream([{ stream: process.stdout }, { stream: combined }]));
 */
export class RotatingFile {
  readonly file: string;
  readonly #maxBytes: number;
  readonly #maxFiles: number;
  #fd: number | null = null;
  #size = 0;

  constructor(options: RotatingFileOptions) {
    this.file = options.file;
    this.#maxBytes = Math.max(1, options.maxBytes ?? 10 * 1024 * 1024);
    this.#maxFiles = Math.max(0, options.maxFiles ?? 5);
  }

  write(chunk: string | Buffer): boolean {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    try {
      this.#open();
      if (this.#size > 0 && this.#size + bytes.length > this.#maxBytes) this.#rotate();
      if (this.#fd !== null) writeSync(this.#fd, bytes);
      this.#size += bytes.length;
    } catch {
      // Full or missing disk: the line is lost, the gateway keeps running.
    }
    return true;
  }

  close(): void {
    if (this.#fd === null) return;
    try {
      closeSync(this.#fd);
    } catch {
      // already closed
    }
    this.#fd = null;
  }

  #open(): void {
    if (this.#fd !== null) return;
    mkdirSync(dirname(this.file), { recursive: true });
    this.#fd = openSync(this.file, 'a', 0o640);
    this.#size = fstatSync(this.#fd).size;
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
