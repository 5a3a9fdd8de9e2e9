/** One Server-Sent Events message. */
export interface SseMessage {
  /** The `id:` field, when the message had one. */
  id: string | undefined;
  /** The `event:` field ('message' when absent). */
  event: string;
  /** The `data:` lines joined with '\n'. */
  data: string;
}

/**
 * Parses Server-Sent Events text fed in chunks (any split, `\n`, `\r\n` or `\r` line ends).
 * Comments (`: heartbeat`) and `retry:` are skipped.
 *
 * @example
 * const p = new SseParser();
 * p.push('id: 1\nevent: job.status\ndata: {}\n\n'); // [{ id: '1', event: 'job.status', data: '{}' }]
 */
export class SseParser {
  #buffer = '';
  #id: string | undefined;
  #event = '';
  #data: string[] = [];
  #pendingCr = false;

  /** Feeds text; returns the messages it completed. */
  push(text: string): SseMessage[] {
    let chunk = text;
    // A '\r' at the end of the previous chunk may be the first half of '\r\n'.
    if (this.#pendingCr && chunk.startsWith('\n')) chunk = chunk.slice(1);
    this.#pendingCr = false;
    this.#buffer += chunk;
    const out: SseMessage[] = [];
    for (let guard = 0; guard < 1_000_000; guard++) {
      const m = /\r\n|\n|\r/.exec(this.#buffer);
      if (!m) break;
      if (m[0] === '\r' && m.index === this.#buffer.length - 1) {
        this.#pendingCr = true;
      }
      const line = this.#buffer.slice(0, m.index);
      this.#buffer = this.#buffer.slice(m.index + m[0].length);
      const msg = this.#line(line);
      if (msg) out.push(msg);
    }
    return out;
  }

  #line(line: string): SseMessage | undefined {
    if (line === '') {
      if (this.#data.length === 0) {
        this.#event = '';
        return undefined;
      }
      const msg = { id: this.#id, event: this.#event || 'message', data: this.#data.join('\n') };
      this.#event = '';
      this.#data = [];
      this.#id = undefined;
      return msg;
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.#data.push(value);
    else if (field === 'event') this.#event = value;
    else if (field === 'id' && !value.includes('\0')) this.#id = value;
    return undefined;
  }
}

/**
 * The messages of an SSE response body, in order. Ends when the body ends; rejects when the
 * connection breaks. Breaking out of the loop cancels the body.
 *
 * @example
 * for await (const m of sseMessages(response.body)) console.log(m.event, m.data);
 */
export async function* sseMessages(body: ReadableStream<Uint8Array>): AsyncGenerator<SseMessage> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  let finished = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        finished = true;
        // A message cut off by the end of the stream is dropped, as EventSource does.
        for (const m of parser.push(decoder.decode())) yield m;
        return;
      }
      for (const m of parser.push(decoder.decode(value, { stream: true }))) yield m;
    }
  } finally {
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}
