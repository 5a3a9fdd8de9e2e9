/**
 * The WebSocket side of one ComfyUI instance: one socket at /ws?clientId=<id>, kept alive for days.
 *
 * - Reconnects with capped exponential backoff and jitter; the old socket is always fully closed
 *   before a new one opens with the same clientId (ComfyUI unregisters the newer socket when an
 *   older one with the same id closes late).
 * - Liveness by client pings: ComfyUI is silent while idle, so silence is fine, a missing pong is not.
 * - Sends feature_flags first so previews carry prompt_id; works with servers that ignore it.
 * - Attributes every event to a prompt (messages without prompt_id go to the running prompt).
 * - After a reconnect, asks the instance where each watched prompt stands (ComfyUI replays
 *   nothing) and ends watches of prompts that finished or vanished meanwhile.
 */
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import WebSocket, { type RawData } from 'ws';
import { type BackoffOptions, backoffDelay } from './backoff.js';
import { decodeBinaryFrame } from './binary-frames.js';
import { clientConnections } from './client-internals.js';
import type { ComfyClient } from './comfy-client.js';
import { type ComfyTlsOptions, webSocketUrl } from './connection.js';
import { ComfyError, ComfyTimeoutError, ComfyUnreachableError } from './errors.js';
import { parseServerMessage } from './message-parser.js';
import type { PromptState } from './prompt-state.js';
import { PromptWatch } from './prompt-watch.js';
import type { BinaryFrame, JsonObject } from './protocol.js';
import type {
  ComfyEvent,
  ConnectionState,
  ConnectionStateChange,
  PromptWatchResult,
  StreamEventMap,
} from './stream-events.js';
import { TypedEmitter } from './typed-emitter.js';

/** Options of a ComfyEventStream. Only `client` is required. */
export interface ComfyEventStreamOptions {
  /** The HTTP client of the same instance (used for the URL, auth and reconciliation). */
  client: ComfyClient;
  /** The gateway's id on this instance; send every prompt with this client_id. Default: a UUID. */
  clientId?: string;
  /** ms between client pings. Default 15 000. */
  pingIntervalMs?: number;
  /** ms to wait for a pong before the socket is declared dead. Default 10 000. */
  pongTimeoutMs?: number;
  /** ms for the WebSocket handshake (TCP + TLS + upgrade). Default 10 000. */
  connectTimeoutMs?: number;
  /** Reconnect delays, and `maxAttempts` (default unlimited) before giving up. */
  reconnect?: BackoffOptions & { maxAttempts?: number };
  /** A connection that lasted this long resets the backoff. Default 5 000 ms. */
  stableAfterMs?: number;
  /** First message's flags; false sends nothing. Default {supports_preview_metadata: true}. */
  featureFlags?: JsonObject | false;
  /** Largest frame accepted (previews from SaveImageWebsocket are full PNGs). Default 64 MiB. */
  maxPayloadBytes?: number;
  /** Events a watch keeps for a slow reader before dropping progress events. Default 1 000. */
  watchBufferSize?: number;
  /** ms of HTTP timeout for reconciliation calls. Default: the client's. */
  reconcileTimeoutMs?: number;
}

/** Options of watch(). */
export interface WatchOptions {
  /** Stops the watch (status 'stopped', reason 'aborted'). */
  signal?: AbortSignal;
  /**
   * False while POST /prompt is still in flight: reconciliation must not call the prompt lost
   * before the server has it. Call `watch.markSubmitted()` once it answers. Default true.
   */
  submitted?: boolean;
  /** Ask the instance for the prompt's state right away (re-attaching to a known prompt). */
  reconcile?: boolean;
}

const RECONCILE_CONCURRENCY = 4;

function rawToBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

function framePromptId(frame: BinaryFrame): string | undefined {
  return frame.kind === 'preview_with_metadata' && typeof frame.metadata?.prompt_id === 'string'
    ? frame.metadata.prompt_id
    : undefined;
}

/**
 * The event stream of one instance.
 *
 * @example
 * const stream = new ComfyEventStream({ client });
 * stream.on('state', (s) => log.info(s, 'comfy socket'));
 * stream.start();
 * const watch = stream.watch(promptId);
 * await client.queuePrompt({ prompt, prompt_id: promptId, client_id: stream.clientId });
 * for await (const event of watch) if (event.type === 'progress') report(event.data);
 * await stream.close();
 */
export class ComfyEventStream {
  readonly clientId: string;
  readonly client: ComfyClient;
  readonly #url: string;
  readonly #headers: Record<string, string>;
  readonly #tls: ComfyTlsOptions;
  readonly #options: Required<
    Pick<
      ComfyEventStreamOptions,
      | 'pingIntervalMs'
      | 'pongTimeoutMs'
      | 'connectTimeoutMs'
      | 'stableAfterMs'
      | 'maxPayloadBytes'
      | 'watchBufferSize'
    >
  >;
  readonly #backoff: BackoffOptions;
  readonly #maxAttempts: number;
  readonly #featureFlags: JsonObject | false;
  readonly #reconcileTimeoutMs: number | undefined;
  readonly #events: TypedEmitter<StreamEventMap>;
  readonly #watches = new Map<string, Set<PromptWatch>>();
  readonly #lifetime = new AbortController();

  #state: ConnectionState = 'idle';
  #ws: WebSocket | undefined;
  #attempt = 0;
  #openedAt = 0;
  #everConnected = false;
  #closeReason: { reason: string; error?: ComfyError } | undefined;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #pingTimer: NodeJS.Timeout | undefined;
  #pongTimer: NodeJS.Timeout | undefined;
  #reconcileTimer: NodeJS.Timeout | undefined;
  #reconcileFailures = 0;
  #running: string | undefined;
  #startsSeen = 0;
  #queueRemaining: number | undefined;
  #serverFlags: JsonObject | undefined;
  #closePromise: Promise<void> | undefined;
  #connectWaiters = new Set<() => void>();

  constructor(options: ComfyEventStreamOptions) {
    const conn = options?.client ? clientConnections.get(options.client) : undefined;
    if (!conn)
      throw new ComfyError(
        'INVALID_ARGUMENT',
        'ComfyEventStream needs the ComfyClient of the instance',
      );
    const clientId = options.clientId ?? randomUUID();
    if (typeof clientId !== 'string' || clientId === '') {
      throw new ComfyError('INVALID_ARGUMENT', 'clientId must be a non-empty string');
    }
    this.client = options.client;
    this.clientId = clientId;
    this.#url = webSocketUrl(conn, clientId);
    this.#headers = { ...conn.secretHeaders };
    this.#tls = conn.secure && conn.tls ? { ...conn.tls } : {};
    const num = (name: string, value: number | undefined, fallback: number) => {
      if (value === undefined) return fallback;
      if (!Number.isFinite(value) || value <= 0) {
        throw new ComfyError('INVALID_ARGUMENT', `${name} must be a positive number`);
      }
      return value;
    };
    this.#options = {
      pingIntervalMs: num('pingIntervalMs', options.pingIntervalMs, 15_000),
      pongTimeoutMs: num('pongTimeoutMs', options.pongTimeoutMs, 10_000),
      connectTimeoutMs: num('connectTimeoutMs', options.connectTimeoutMs, 10_000),
      stableAfterMs: num('stableAfterMs', options.stableAfterMs, 5_000),
      maxPayloadBytes: num('maxPayloadBytes', options.maxPayloadBytes, 64 * 1024 * 1024),
      watchBufferSize: num('watchBufferSize', options.watchBufferSize, 1_000),
    };
    this.#backoff = { ...options.reconnect };
    this.#maxAttempts = options.reconnect?.maxAttempts ?? Number.POSITIVE_INFINITY;
    this.#featureFlags = options.featureFlags ?? { supports_preview_metadata: true };
    this.#reconcileTimeoutMs = options.reconcileTimeoutMs;
    this.#events = new TypedEmitter<StreamEventMap>((error, event) => {
      if (event !== 'warning') this.#warn(`a '${String(event)}' listener threw`, error);
    });
  }

  // -------------------------------------------------------------------------------------------
  // Public API
  // -------------------------------------------------------------------------------------------

  get state(): ConnectionState {
    return this.#state;
  }

  get connected(): boolean {
    return this.#state === 'connected';
  }

  /** The prompt the instance is running, as far as the events tell. */
  get runningPromptId(): string | undefined {
    return this.#running;
  }

  /** queue_remaining from the last status message (pending + running). */
  get queueRemaining(): number | undefined {
    return this.#queueRemaining;
  }

  /** The server's feature flags, if it answered ours. */
  get serverFeatureFlags(): JsonObject | undefined {
    return this.#serverFlags;
  }

  /** Number of active watches (for leak checks and stats). */
  get watchCount(): number {
    let count = 0;
    for (const set of this.#watches.values()) count += set.size;
    return count;
  }

  /**
   * Adds a listener; returns the function that removes it.
   *
   * @example
   * const off = stream.on('status', ({ queueRemaining }) => gauge.set(queueRemaining));
   */
  on<K extends keyof StreamEventMap>(
    event: K,
    listener: (payload: StreamEventMap[K]) => void,
  ): () => void {
    if (this.#state === 'closed') return () => undefined;
    return this.#events.on(event, listener);
  }

  off<K extends keyof StreamEventMap>(
    event: K,
    listener: (payload: StreamEventMap[K]) => void,
  ): void {
    this.#events.off(event, listener);
  }

  /**
   * Opens the socket (in the background; see whenConnected). Idempotent.
   *
   * @example
   * stream.start();
   */
  start(): void {
    if (this.#state === 'closed')
      throw new ComfyError('CLIENT_CLOSED', 'The event stream is closed');
    if (this.#state !== 'idle') return;
    this.#connect();
  }

  /**
   * Resolves once the socket is open (starting it if needed). Rejects on timeout, abort or close;
   * the stream keeps trying in the background either way.
   *
   * @example
   * await stream.whenConnected({ timeoutMs: 5000 });
   */
  whenConnected(options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<void> {
    if (this.#state === 'closed')
      return Promise.reject(new ComfyError('CLIENT_CLOSED', 'The event stream is closed'));
    if (this.#state === 'idle') this.start();
    if (this.#state === 'connected') return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (error?: unknown) => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        this.#connectWaiters.delete(waiter);
        if (error) reject(error);
        else resolve();
      };
      const waiter = () =>
        done(
          this.#state === 'connected'
            ? undefined
            : new ComfyError('CLIENT_CLOSED', 'The event stream is closed'),
        );
      const onAbort = () =>
        done(new ComfyError('ABORTED', 'Waiting for the connection was aborted'));
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (options.timeoutMs !== undefined) {
        const ms = options.timeoutMs;
        timer = setTimeout(
          () =>
            done(
              new ComfyTimeoutError(
                `WebSocket to ${this.client.url} not connected within ${ms} ms`,
                'connect',
                ms,
              ),
            ),
          ms,
        );
      }
      this.#connectWaiters.add(waiter);
    });
  }

  /**
   * Skips the current backoff wait (e.g. a health check says the instance is back), and resumes
   * after giving up (state 'disconnected').
   *
   * @example
   * if (stream.state !== 'connected') stream.reconnectNow();
   */
  reconnectNow(): void {
    if (this.#state !== 'reconnecting' && this.#state !== 'disconnected') return;
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    this.#attempt = 0;
    this.#connect();
  }

  /**
   * Follows one prompt: its events in order, ending after `executing {node: null}`, or when
   * reconciliation finds it finished or lost. Create it BEFORE submitting the prompt (events can
   * arrive before POST /prompt answers), with `submitted: false` until the POST answers.
   *
   * @example
   * const watch = stream.watch(promptId, { submitted: false });
   * await client.queuePrompt({ prompt, prompt_id: promptId, client_id: stream.clientId });
   * watch.markSubmitted();
   * const result = await watch.result;
   */
  watch(promptId: string, options: WatchOptions = {}): PromptWatch {
    if (typeof promptId !== 'string' || promptId === '') {
      throw new ComfyError('INVALID_ARGUMENT', 'watch: promptId is required');
    }
    const onAbort = () => watch.close('aborted');
    const watch = new PromptWatch(
      promptId,
      this.#options.watchBufferSize,
      options.submitted ?? true,
      (ended) => {
        options.signal?.removeEventListener('abort', onAbort);
        const set = this.#watches.get(promptId);
        set?.delete(ended);
        if (set && set.size === 0) this.#watches.delete(promptId);
      },
    );
    if (this.#state === 'closed') {
      watch.sink.end({ status: 'stopped', promptId, reason: 'closed' });
      return watch;
    }
    if (options.signal?.aborted) {
      watch.close('aborted');
      return watch;
    }
    let set = this.#watches.get(promptId);
    if (!set) {
      set = new Set();
      this.#watches.set(promptId, set);
    }
    set.add(watch);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.reconcile) {
      this.checkPrompt(promptId).catch((error: unknown) => {
        this.#warn(`could not check prompt ${promptId}`, error);
      });
    }
    return watch;
  }

  /**
   * Asks the instance where a prompt stands and delivers the answer to its watches (ending them
   * when it finished or is lost) and to 'reconciled' listeners.
   *
   * @example
   * const state = await stream.checkPrompt(promptId);
   */
  async checkPrompt(
    promptId: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<PromptState> {
    if (this.#state === 'closed')
      throw new ComfyError('CLIENT_CLOSED', 'The event stream is closed');
    // One controller per call, unlinked afterwards: nothing accumulates on the long-lived signals.
    const controller = new AbortController();
    const sources = [this.#lifetime.signal, options.signal].filter(
      (s): s is AbortSignal => s !== undefined,
    );
    const onAbort = () => controller.abort(new ComfyError('ABORTED', 'Prompt check aborted'));
    for (const source of sources) {
      if (source.aborted) onAbort();
      else source.addEventListener('abort', onAbort, { once: true });
    }
    const startsBefore = this.#startsSeen;
    try {
      const callOptions =
        this.#reconcileTimeoutMs === undefined
          ? { signal: controller.signal }
          : { signal: controller.signal, timeoutMs: this.#reconcileTimeoutMs };
      const state = await this.client.getPromptState(promptId, callOptions);
      this.#applyState(state, startsBefore);
      return state;
    } finally {
      for (const source of sources) source.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Closes the socket and ends every watch (status 'stopped', reason 'closed'). Final and
   * idempotent: every call returns the same promise. The client is left open (it is yours).
   *
   * @example
   * await stream.close();
   */
  close(): Promise<void> {
    if (this.#closePromise) return this.#closePromise;
    const previous = this.#state;
    this.#state = 'closed';
    this.#lifetime.abort(new ComfyError('CLIENT_CLOSED', 'The event stream is closed'));
    clearTimeout(this.#reconnectTimer);
    clearTimeout(this.#reconcileTimer);
    this.#stopLiveness();
    for (const set of [...this.#watches.values()]) {
      for (const watch of [...set])
        watch.sink.end({ status: 'stopped', promptId: watch.promptId, reason: 'closed' });
    }
    this.#watches.clear();
    for (const waiter of [...this.#connectWaiters]) waiter();
    this.#events.emit('state', {
      state: 'closed',
      previous,
      attempt: this.#attempt,
      reason: 'closed by the client',
    });
    this.#events.clear();
    const ws = this.#ws;
    this.#ws = undefined;
    this.#closePromise = ws ? closeSocket(ws) : Promise.resolve();
    return this.#closePromise;
  }

  toString(): string {
    return `ComfyEventStream(${this.client.url}, ${this.#state})`;
  }

  toJSON(): { url: string; clientId: string; state: ConnectionState } {
    return { url: this.client.url, clientId: this.clientId, state: this.#state };
  }

  // -------------------------------------------------------------------------------------------
  // Socket lifecycle
  // -------------------------------------------------------------------------------------------

  #setState(
    state: ConnectionState,
    extra: Omit<ConnectionStateChange, 'state' | 'previous' | 'attempt'> = {},
  ): void {
    const previous = this.#state;
    this.#state = state;
    this.#events.emit('state', { state, previous, attempt: this.#attempt, ...extra });
  }

  // A method, not a field read, so TypeScript does not narrow it across awaits.
  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  #warn(message: string, error?: unknown): void {
    this.#events.emit('warning', error === undefined ? { message } : { message, error });
  }

  #connect(): void {
    if (this.#state === 'closed' || this.#ws) return;
    this.#closeReason = undefined;
    this.#setState('connecting');
    const ws = new WebSocket(this.#url, {
      headers: this.#headers,
      handshakeTimeout: this.#options.connectTimeoutMs,
      perMessageDeflate: false,
      maxPayload: this.#options.maxPayloadBytes,
      followRedirects: false,
      ...this.#tls,
    });
    this.#ws = ws;
    let rawSocket: Duplex | undefined;
    ws.on('upgrade', (response) => {
      rawSocket = response.socket;
    });
    ws.on('open', () => {
      // Any byte counts as a sign of life, so a long frame on a slow link is not taken for
      // silence. Attached only now: a 'data' listener added before ws's own would lose bytes.
      rawSocket?.on('data', () => this.#onAlive(ws));
      this.#onOpen(ws);
    });
    ws.on('message', (data, isBinary) => this.#onMessage(ws, data, isBinary));
    ws.on('pong', () => this.#onAlive(ws));
    ws.on('error', (error) => this.#onError(ws, error));
    ws.on('close', (code, reason) => this.#onClose(ws, code, reason.toString('utf8')));
  }

  #onOpen(ws: WebSocket): void {
    if (ws !== this.#ws || this.#state === 'closed') return;
    this.#openedAt = Date.now();
    if (this.#featureFlags !== false) {
      ws.send(JSON.stringify({ type: 'feature_flags', data: this.#featureFlags }));
    }
    const reconnected = this.#everConnected;
    this.#everConnected = true;
    this.#attempt = 0;
    this.#reconcileFailures = 0;
    this.#setState('connected', reconnected ? { reason: 'reconnected' } : {});
    for (const waiter of [...this.#connectWaiters]) waiter();
    this.#schedulePing();
    this.#reconcileAll();
  }

  #onError(ws: WebSocket, error: Error): void {
    if (ws !== this.#ws) return;
    const code = (error as { code?: unknown }).code;
    const status = /Unexpected server response: (\d+)/.exec(error.message)?.[1];
    let mapped: ComfyError;
    if (/handshake has timed out/i.test(error.message)) {
      mapped = new ComfyTimeoutError(
        `WebSocket to ${this.client.url}: handshake timed out`,
        'connect',
        this.#options.connectTimeoutMs,
        { cause: error },
      );
    } else if (status) {
      mapped = new ComfyUnreachableError(
        `WebSocket to ${this.client.url}: server answered HTTP ${status} instead of upgrading`,
        `HTTP_${status}`,
        'response',
        { cause: error },
      );
    } else {
      mapped = new ComfyUnreachableError(
        `WebSocket to ${this.client.url}: ${error.message}`,
        typeof code === 'string' ? code : undefined,
        ws.readyState === WebSocket.CONNECTING ? 'connect' : 'body',
        { cause: error },
      );
    }
    this.#closeReason ??= { reason: mapped.message, error: mapped };
  }

  #onClose(ws: WebSocket, code: number, reason: string): void {
    if (ws !== this.#ws) return;
    this.#ws = undefined;
    this.#stopLiveness();
    if (this.#state === 'closed') return;
    const why = this.#closeReason ?? {
      reason: `socket closed by the server (code ${code}${reason ? `, ${reason}` : ''})`,
    };
    if (this.#openedAt > 0 && Date.now() - this.#openedAt >= this.#options.stableAfterMs)
      this.#attempt = 0;
    this.#openedAt = 0;
    this.#attempt++;
    if (this.#attempt > this.#maxAttempts) {
      this.#setState('disconnected', {
        ...why,
        reason: `gave up after ${this.#maxAttempts} attempts: ${why.reason}`,
      });
      return;
    }
    const delayMs = backoffDelay(this.#attempt, this.#backoff);
    this.#setState('reconnecting', { ...why, delayMs });
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      this.#connect();
    }, delayMs);
  }

  // Liveness: ping on a fixed period; any frame from the server counts as a pong.
  #schedulePing(): void {
    clearTimeout(this.#pingTimer);
    this.#pingTimer = setTimeout(() => this.#ping(), this.#options.pingIntervalMs);
  }

  #ping(): void {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    ws.ping();
    // Keep the earliest deadline: a pong timeout longer than the ping period must still fire.
    if (this.#pongTimer !== undefined) {
      this.#schedulePing();
      return;
    }
    this.#pongTimer = setTimeout(() => {
      if (ws !== this.#ws) return;
      const ms = this.#options.pongTimeoutMs;
      const error = new ComfyTimeoutError(
        `WebSocket to ${this.client.url}: no pong within ${ms} ms`,
        'response',
        ms,
      );
      this.#closeReason = { reason: error.message, error };
      ws.terminate();
    }, this.#options.pongTimeoutMs);
    this.#schedulePing();
  }

  #onAlive(ws: WebSocket): void {
    if (ws !== this.#ws) return;
    clearTimeout(this.#pongTimer);
    this.#pongTimer = undefined;
  }

  #stopLiveness(): void {
    clearTimeout(this.#pingTimer);
    clearTimeout(this.#pongTimer);
    this.#pingTimer = undefined;
    this.#pongTimer = undefined;
  }

  // -------------------------------------------------------------------------------------------
  // Messages
  // -------------------------------------------------------------------------------------------

  #onMessage(ws: WebSocket, data: RawData, isBinary: boolean): void {
    if (ws !== this.#ws || this.#state === 'closed') return;
    this.#onAlive(ws);
    if (isBinary) {
      let frame: BinaryFrame;
      try {
        frame = decodeBinaryFrame(new Uint8Array(rawToBuffer(data)));
      } catch (error) {
        this.#warn('undecodable binary frame', error);
        return;
      }
      this.#dispatch({ type: 'binary', frame, promptId: framePromptId(frame) ?? this.#running });
      return;
    }
    const parsed = parseServerMessage(rawToBuffer(data).toString('utf8'));
    if (!parsed.ok) {
      this.#warn(`ignored a WebSocket message: ${parsed.error}`);
      return;
    }
    const message = parsed.message;
    if ('unknown' in message) {
      const data = message.data;
      const own =
        typeof data === 'object' && data !== null && !Array.isArray(data)
          ? data.prompt_id
          : undefined;
      this.#dispatch({
        type: message.type,
        data,
        unknown: true,
        promptId: typeof own === 'string' ? own : undefined,
      });
      return;
    }
    switch (message.type) {
      case 'status': {
        this.#queueRemaining = message.data.status.exec_info.queue_remaining;
        const payload: StreamEventMap['status'] = { queueRemaining: this.#queueRemaining };
        if (message.data.sid !== undefined) payload.sid = message.data.sid;
        if (message.data.sid !== undefined && message.data.sid !== this.clientId) {
          this.#warn(`server registered this socket as ${message.data.sid}, not ${this.clientId}`);
        }
        this.#events.emit('status', payload);
        this.#dispatch({ type: 'status', data: message.data, promptId: undefined });
        return;
      }
      case 'feature_flags':
        this.#serverFlags = message.data;
        this.#events.emit('featureFlags', message.data);
        this.#dispatch({ type: 'feature_flags', data: message.data, promptId: undefined });
        return;
      case 'execution_start':
        this.#running = message.data.prompt_id;
        this.#startsSeen++;
        this.#dispatch({
          type: 'execution_start',
          data: message.data,
          promptId: message.data.prompt_id,
        });
        return;
      case 'executing': {
        const own = message.data.prompt_id;
        if (message.data.node === null) {
          if (own !== undefined && this.#running === own) this.#running = undefined;
        } else if (own !== undefined) {
          this.#running = own;
        }
        this.#dispatch({ type: 'executing', data: message.data, promptId: own ?? this.#running });
        return;
      }
      default:
        this.#dispatch({ ...message, promptId: message.data.prompt_id } as ComfyEvent);
    }
  }

  #dispatch(event: ComfyEvent): void {
    this.#events.emit('message', event);
    if (event.promptId === undefined) return;
    const set = this.#watches.get(event.promptId);
    if (!set) return;
    for (const watch of [...set]) watch.sink.push(event);
  }

  // -------------------------------------------------------------------------------------------
  // Reconciliation
  // -------------------------------------------------------------------------------------------

  #applyState(state: PromptState, startsBefore: number): void {
    if (this.#state === 'closed') return;
    const promptId = state.promptId;
    if (
      state.state === 'running' &&
      this.#startsSeen === startsBefore &&
      this.#watches.has(promptId)
    ) {
      this.#running = promptId;
    } else if (
      (state.state === 'finished' || state.state === 'unknown') &&
      this.#running === promptId
    ) {
      this.#running = undefined;
    }
    const event = { type: 'reconciled' as const, promptId, state };
    this.#events.emit('reconciled', event);
    const set = this.#watches.get(promptId);
    if (!set) return;
    for (const watch of [...set]) {
      if (state.state === 'unknown' && !watch.sink.submitted) continue;
      watch.sink.push(event);
      if (state.state === 'finished') {
        const result: PromptWatchResult = {
          status: 'finished',
          promptId,
          outcome: state.outcome,
          via: 'reconcile',
        };
        if (state.history) result.history = state.history;
        if (state.error) result.error = state.error;
        if (state.interrupted) result.interrupted = state.interrupted;
        watch.sink.end(result);
      } else if (state.state === 'unknown') {
        watch.sink.end({ status: 'lost', promptId });
      }
    }
  }

  /** Checks every watched, submitted prompt; retried with backoff while connected if HTTP fails. */
  #reconcileAll(): void {
    clearTimeout(this.#reconcileTimer);
    this.#reconcileTimer = undefined;
    const ids = [...this.#watches.entries()]
      .filter(([, set]) => [...set].some((watch) => watch.sink.submitted && !watch.sink.ended))
      .map(([id]) => id);
    if (ids.length === 0) return;
    const queue = [...ids];
    let failed = false;
    const worker = async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
        if (this.#isClosed()) return;
        if (!this.#watches.has(id)) continue;
        try {
          await this.checkPrompt(id);
        } catch (error) {
          if (this.#isClosed()) return;
          failed = true;
          this.#warn(`reconciliation of prompt ${id} failed`, error);
        }
      }
    };
    const workers = Array.from({ length: Math.min(RECONCILE_CONCURRENCY, ids.length) }, worker);
    Promise.all(workers)
      .then(() => {
        if (!failed || this.#state !== 'connected') return;
        this.#reconcileFailures++;
        const delay = backoffDelay(this.#reconcileFailures, this.#backoff);
        this.#reconcileTimer = setTimeout(() => this.#reconcileAll(), delay);
      })
      .catch((error: unknown) => this.#warn('reconciliation failed', error));
  }
}

/** Closes a socket politely, then forcibly if the peer does not answer within 2 s. */
function closeSocket(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => ws.terminate(), 2_000);
    ws.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    ws.on('error', () => undefined);
    if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
    else ws.close(1000);
  });
}
