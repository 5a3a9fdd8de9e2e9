import { StringDecoder } from 'node:string_decoder';

/**
 * Cuts a byte stream into lines at \n, \r\n or a lone \r (progress bars redraw with \r), and
 * cuts over-long lines at `maxLineLength` so a process that never prints a newline cannot grow
 * memory without bound.
 *
 * @example
 * const split = new LineSplitter((line) => log.write('stdout', line));
 * child.stdout.on('data', (chunk) => split.push(chunk));
 * child.stdout.on('end', () => split.end());
 */
export class LineSplitter {
  readonly #decoder = new StringDecoder('utf8');
  readonly #onLine: (line: string) => void;
  readonly #maxLineLength: number;
  #partial = '';
  #lastWasCr = false;

  constructor(onLine: (line: string) => void, maxLineLength = 16 * 1024) {
    this.#onLine = onLine;
    this.#maxLineLength = maxLineLength;
  }

  push(chunk: Buffer | string): void {
    this.#consume(typeof chunk === 'string' ? chunk : this.#decoder.write(chunk));
  }

  /** Flushes the last line that had no newline. */
  end(): void {
    this.#consume(this.#decoder.end());
    const rest = this.#partial;
    this.#partial = '';
    this.#emitCut(rest);
  }

  #consume(input: string): void {
    let text = input;
    if (text === '') return;
    // A \r\n split across two chunks: the \r already ended the line.
    if (this.#lastWasCr && text.startsWith('\n')) text = text.slice(1);
    this.#lastWasCr = text.endsWith('\r');
    const parts = (this.#partial + text).split(/\r\n|\r|\n/);
    this.#partial = parts.pop() ?? '';
    for (const part of parts) this.#emitCut(part);
    while (this.#partial.length >= this.#maxLineLength) {
      this.#emitLine(this.#partial.slice(0, this.#maxLineLength));
      this.#partial = this.#partial.slice(this.#maxLineLength);
    }
  }

  #emitCut(line: string): void {
    for (let i = 0; i < line.length; i += this.#maxLineLength) {
      this.#emitLine(line.slice(i, i + this.#maxLineLength));
    }
  }

  #emitLine(line: string): void {
    if (line.trim() !== '') this.#onLine(line);
  }
}
