import { apiUrl, authHeaders } from './http.js';

/** One server-sent event. `event` is 'message' when the server named none. */
export interface SseMessage {
  event: string;
  data: string;
  id: string | null;
}

/**
 * Incremental parser of the text/event-stream format: feed it chunks as they arrive, it returns
 * the events completed so far (split lines and multi-line `data:` are handled; comments skipped).
 *
 * @example
 * const p = new SseParser();
 * p.push('event: instance.status\ndata: {"id":"a"}\n\n'); // [{ event: 'instance.status', data: '{"id":"a"}', id: null }]
 */
export class SseParser {
  #buffer = '';
  #event = '';
  #data: string[] = [];
  #id: string | null = null;
  /** The last `id:` seen (sent back as Last-Event-ID on reconnect). */
  lastEventId: string | null = null;
  /** The server's `retry:` advice in ms, if it gave one. */
  retryMs: number | null = null;

  push(chunk: string): SseMessage[] {
    this.#buffer += chunk;
    const out: SseMessage[] = [];
    for (;;) {
      const nl = this.#buffer.search(/\r\n|\r|\n/);
      if (nl < 0) break;
      // A lone \r at the very end may be the first half of \r\n: wait for the next chunk.
      if (this.#buffer[nl] === '\r' && nl === this.#buffer.length - 1) break;
      const line = this.#buffer.slice(0, nl);
      const skip = this.#buffer.startsWith('\r\n', nl) ? 2 : 1;
      this.#buffer = this.#buffer.slice(nl + skip);
      const msg = this.#line(line);
      if (msg) out.push(msg);
    }
    return out;
  }

  #line(line: string): SseMessage | null {
    if (line === '') {
      if (this.#data.length === 0) {
        this.#event = '';
        return null;
      }
      const msg: SseMessage = {
        event: this.#event || 'message',
        data: this.#data.join('\n'),
        id: this.#id,
      };
      this.#event = '';
      this.#data = [];
      return msg;
    }
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.#event = value;
    else if (field === 'data') this.#data.push(value);
    else if (field === 'id' && !value.includes('\0')) {
      this.#id = value;
      this.lastEventId = value;
    } else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
    return null;
  }
}

export type StreamState =
  | 'connecting'
  | 'open'
  | 'reconnecting'
  | 'unauthorized'
  | 'unavailable'
  /** The server ended it and it was not to be reopened. */
  | 'closed';

export interface EventStreamOptions {
  url: string;
  onMessage: (msg: SseMessage) => void;
  onState?: (state: StreamState) => void;
  /** Called after a reconnect (events may have been missed: refetch). */
  onReconnect?: () => void;
  /** Asked when the server ends the stream: false stops (e.g. a finished job's log). */
  shouldReconnect?: () => boolean;
  /** First reconnect delay; doubles up to maxDelayMs. */
  initialDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * One live connection to an SSE route over fetch (so the API key travels as a header), which
 * reconnects with backoff and sends Last-Event-ID. `close()` ends it for good.
 *
 * @example
 * const stream = openEventStream({ url: '/api/v1/events', onMessage: (m) => console.log(m.event) });
 * stream.close();
 */
export function openEventStream(options: EventStreamOptions): { close(): void } {
  const initial = options.initialDelayMs ?? 500;
  const max = options.maxDelayMs ?? 10_000;
  let closed = false;
  let controller: AbortController | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let delay = initial;
  let lastId: string | null = null;
  let opened = false;

  const setState = (s: StreamState) => options.onState?.(s);

  const schedule = (state: StreamState, wait: number) => {
    if (closed) return;
    setState(state);
    timer = setTimeout(() => {
      timer = null;
      void connect();
    }, wait);
    delay = Math.min(max, delay * 2);
  };

  const connect = async () => {
    if (closed) return;
    controller = new AbortController();
    const parser = new SseParser();
    try {
      const headers: Record<string, string> = { accept: 'text/event-stream', ...authHeaders() };
      if (lastId) headers['last-event-id'] = lastId;
      const res = await fetch(apiUrl(options.url), {
        headers,
        signal: controller.signal,
        cache: 'no-store',
      });
      if (res.status === 401 || res.status === 403) {
        schedule('unauthorized', Math.max(delay, 5_000));
        return;
      }
      if (res.status === 404 || res.status === 501) {
        schedule('unavailable', max);
        return;
      }
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      setState('open');
      if (opened) options.onReconnect?.();
      opened = true;
      delay = initial;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const msg of parser.push(value)) {
          if (msg.id) lastId = msg.id;
          options.onMessage(msg);
        }
        if (parser.retryMs !== null) delay = parser.retryMs;
      }
      if (options.shouldReconnect && !options.shouldReconnect()) {
        setState('closed');
        return;
      }
      schedule('reconnecting', delay);
    } catch (error) {
      if (closed || (error as { name?: string })?.name === 'AbortError') return;
      schedule('reconnecting', delay);
    }
  };

  setState('connecting');
  void connect();
  return {
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      controller?.abort();
    },
  };
}
