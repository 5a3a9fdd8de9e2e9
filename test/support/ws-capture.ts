import WebSocket from 'ws';
import type { JsonValue } from '../../src/comfy/protocol.js';
import { describeImage, type ImageInfo } from './image-info.js';
import { parseJsonOrdered, stringifyOrdered } from './ordered-json.js';
import type { WsDirection } from './transcripts.js';

/** One message a captured socket received (or sent), in arrival order. */
export type CapturedMessage =
  | { t_ms: number; dir: WsDirection; kind: 'text'; json: JsonValue }
  | {
      t_ms: number;
      dir: 'server->client';
      kind: 'binary';
      length: number;
      /** First big-endian u32. */
      event_type: number;
      /** Second u32 of a type-1 frame (1 JPEG, 2 PNG). */
      image_type?: number;
      /** The JSON of a type-4 frame. */
      metadata?: JsonValue;
      image?: ImageInfo;
    };

const DEFAULT_WAIT_MS = 15_000;

interface Waiter {
  from: number;
  test: (m: CapturedMessage) => boolean;
  resolve: (m: CapturedMessage) => void;
}

/**
 * A WebSocket that records every message it gets (text as JSON with wire key order, binary frames
 * decoded to their kind) and lets a test wait for a given message. Everything waits a bounded time.
 *
 * @example
 * const ws = await WsCapture.open(`${target.wsUrl}/ws?clientId=${id}`);
 * await ws.waitForPromptEnd(promptId);
 * assertWsSequence(ws.messages, recorded.messages, 'submitting client');
 * await ws.close();
 */
export class WsCapture {
  readonly messages: CapturedMessage[] = [];
  private readonly started = performance.now();
  private waiters: Waiter[] = [];
  private closed = false;

  private constructor(
    readonly url: string,
    private readonly socket: WebSocket,
  ) {
    socket.on('message', (data, isBinary) => this.receive(data, isBinary));
    socket.on('close', () => {
      this.closed = true;
    });
  }

  /**
   * Connects; `firstMessage`, when given, is sent (and captured) as soon as the socket opens, as the
   * recorder did with feature_flags.
   */
  static open(
    url: string,
    options: { firstMessage?: JsonValue; timeoutMs?: number } = {},
  ): Promise<WsCapture> {
    const socket = new WebSocket(url);
    const capture = new WsCapture(url, socket);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.terminate();
        reject(
          new Error(`WebSocket ${url}: not open after ${options.timeoutMs ?? DEFAULT_WAIT_MS} ms`),
        );
      }, options.timeoutMs ?? DEFAULT_WAIT_MS);
      socket.once('open', () => {
        clearTimeout(timer);
        if (options.firstMessage !== undefined) capture.send(options.firstMessage);
        resolve(capture);
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`WebSocket ${url}: ${err.message}`));
      });
    });
  }

  /** Sends a JSON text message and records it as client->server. */
  send(json: JsonValue): void {
    this.messages.push({ t_ms: this.now(), dir: 'client->server', kind: 'text', json });
    this.socket.send(stringifyOrdered(json));
  }

  /**
   * Resolves with the first message at index >= `from` (default 0) that passes `test`; rejects
   * after `timeoutMs` listing what did arrive.
   */
  waitFor(
    test: (m: CapturedMessage) => boolean,
    options: { from?: number; timeoutMs?: number; what?: string } = {},
  ): Promise<CapturedMessage> {
    const from = options.from ?? 0;
    const found = this.messages.slice(from).find(test);
    if (found) return Promise.resolve(found);
    const timeoutMs = options.timeoutMs ?? DEFAULT_WAIT_MS;
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        from,
        test,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(
          new Error(
            `${this.url}: no ${options.what ?? 'matching message'} within ${timeoutMs} ms; got:\n${this.summary()}`,
          ),
        );
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Waits for a text message of this type whose data passes `test`. */
  waitForType(
    type: string,
    test: (data: Record<string, unknown>) => boolean = () => true,
    options: { from?: number; timeoutMs?: number } = {},
  ): Promise<CapturedMessage> {
    return this.waitFor((m) => messageType(m) === type && test(messageData(m)), {
      ...options,
      what: `"${type}" message`,
    });
  }

  /** Waits for `executing {node: null, prompt_id}`: the prompt is finished and in history. */
  waitForPromptEnd(
    promptId: string,
    options: { timeoutMs?: number } = {},
  ): Promise<CapturedMessage> {
    return this.waitForType(
      'executing',
      (d) => d.node === null && d.prompt_id === promptId,
      options,
    );
  }

  /** Waits for `executing {node}` of this prompt (the node started). */
  waitForNode(promptId: string, node: string, options: { timeoutMs?: number } = {}) {
    return this.waitForType(
      'executing',
      (d) => d.node === node && d.prompt_id === promptId,
      options,
    );
  }

  /**
   * Waits until at least `count` messages are in (or `timeoutMs` passed); never throws, so the
   * sequence comparison that follows reports what is missing.
   */
  async settle(count: number, timeoutMs = 5_000): Promise<void> {
    if (this.messages.length >= count) return;
    await this.waitFor((_m) => this.messages.length >= count, { timeoutMs }).catch(() => undefined);
  }

  /** One line per message: index, direction and type; for error messages. */
  summary(): string {
    return this.messages
      .map((m, i) => `  ${i} ${m.dir === 'client->server' ? '>' : '<'} ${describe(m)}`)
      .join('\n');
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Closes the socket and waits (bounded) until the close handshake is over. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.socket.terminate();
        resolve();
      }, 5_000);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.socket.close();
    });
  }

  private receive(data: WebSocket.RawData, isBinary: boolean): void {
    const bytes = Array.isArray(data)
      ? Buffer.concat(data)
      : Buffer.isBuffer(data)
        ? data
        : Buffer.from(data);
    const t_ms = this.now();
    let message: CapturedMessage;
    if (isBinary) {
      message = decodeBinary(bytes, t_ms);
    } else {
      let json: JsonValue;
      try {
        json = parseJsonOrdered(bytes.toString('utf8'));
      } catch {
        // Clients die on non-JSON text frames: keep it visible as an impossible message type.
        json = { type: '<non-JSON text frame>', data: bytes.toString('utf8').slice(0, 200) };
      }
      message = { t_ms, dir: 'server->client', kind: 'text', json };
    }
    this.messages.push(message);
    const index = this.messages.length - 1;
    for (const waiter of [...this.waiters]) {
      if (index >= waiter.from && waiter.test(message)) {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        waiter.resolve(message);
      }
    }
  }

  private now(): number {
    return Math.round((performance.now() - this.started) * 10) / 10;
  }
}

/** The `type` of a text message ('' for binary frames). */
export function messageType(m: CapturedMessage): string {
  if (m.kind !== 'text' || typeof m.json !== 'object' || m.json === null || Array.isArray(m.json)) {
    return '';
  }
  return typeof m.json.type === 'string' ? m.json.type : '';
}

/** The `data` object of a text message ({} when it has none). */
export function messageData(m: CapturedMessage): Record<string, unknown> {
  if (m.kind !== 'text' || typeof m.json !== 'object' || m.json === null || Array.isArray(m.json)) {
    return {};
  }
  const data = m.json.data;
  return typeof data === 'object' && data !== null && !Array.isArray(data) ? data : {};
}

function describe(m: CapturedMessage): string {
  if (m.kind === 'binary') return `binary type ${m.event_type} (${m.length} bytes)`;
  const text = JSON.stringify(m.json);
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}

function decodeBinary(bytes: Buffer, t_ms: number): CapturedMessage {
  const base = {
    t_ms,
    dir: 'server->client' as const,
    kind: 'binary' as const,
    length: bytes.length,
  };
  if (bytes.length < 4) return { ...base, event_type: -1 };
  const event_type = bytes.readUInt32BE(0);
  if (event_type === 1 && bytes.length >= 8) {
    return {
      ...base,
      event_type,
      image_type: bytes.readUInt32BE(4),
      image: describeImage(bytes.subarray(8)),
    };
  }
  if (event_type === 4 && bytes.length >= 8) {
    const length = bytes.readUInt32BE(4);
    let metadata: JsonValue;
    try {
      metadata = parseJsonOrdered(bytes.subarray(8, 8 + length).toString('utf8'));
    } catch {
      metadata = '<metadata is not JSON>';
    }
    return { ...base, event_type, metadata, image: describeImage(bytes.subarray(8 + length)) };
  }
  return { ...base, event_type };
}
