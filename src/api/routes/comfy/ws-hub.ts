import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import {
  encodePreviewFrame,
  encodePreviewWithMetadataFrame,
} from '../../../comfy/binary-frames.js';
import type { ComfyEvent } from '../../../comfy/index.js';
import type { Job, JobOutput } from '../../../jobs/index.js';
import type { JobEvents, JobProgressEvent } from '../../../scheduler/dispatch/index.js';
import type { EventBus } from '../../../store/index.js';
import {
  comfyMetaOf,
  executionErrorData,
  gatewayOutputValue,
  interruptedData,
  outputsDict,
  promptIdOf,
} from './comfy-shapes.js';
import type { PromptExtras, PromptExtrasRecord, StatusMessage } from './prompt-extras.js';

/** Server feature flags (`/features` and the reply to a client's `feature_flags`). */
export const SERVER_FEATURE_FLAGS = {
  supports_preview_metadata: true,
  supports_model_type_tags: true,
  max_upload_size: 104857600,
  extension: { manager: { supports_v4: true } },
  node_replacements: true,
  assets: false,
} as const;

interface Client {
  sid: string;
  socket: WebSocket;
  /** API key id of the socket's caller; null when anonymous (sees its client id's prompts). */
  keyId: string | null;
  sawFirstMessage: boolean;
  /** The client declared `supports_preview_metadata` (previews as binary type 4). */
  previewMetadata: boolean;
  /** The client sent `feature_flags` first (a current frontend: it gets progress text too). */
  negotiated: boolean;
  /** The `status` with its `sid` went out: clients take their id from the first message. */
  greeted: boolean;
  /** Frames for this socket from before its greeting, sent right after it. */
  backlog: Array<string | Buffer>;
}

/** Frames kept for a socket that is not greeted yet (a few at most in practice). */
const MAX_BACKLOG = 1_000;

/** Binary type 3 (progress text of a node): `[u32 3][u32 N][N bytes node id][UTF-8 text]`. */
export function encodeTextFrame(nodeId: string, text: string): Buffer {
  const node = Buffer.from(nodeId, 'utf8');
  const header = Buffer.alloc(8);
  header.writeUInt32BE(3, 0);
  header.writeUInt32BE(node.byteLength, 4);
  return Buffer.concat([header, node, Buffer.from(text, 'utf8')]);
}

/** An instance's event stream as the hub reads it (the monitor's socket, which our prompts use). */
export interface InstanceEventSource {
  on(event: 'message', listener: (e: ComfyEvent) => void): () => void;
}

interface Tracked {
  clientId: string | null;
  owner: string | null;
  promptId: string;
  jobId: string;
  /** Submitted through the drop-in routes (its temp files are kept for /history). */
  dropIn: boolean;
  /** The instance's own execution_start was seen: every later `executed` came live. */
  instanceStarted: boolean;
  /** The instance's status messages of this attempt (for the history record). */
  messages: StatusMessage[];
  /** Per-node messages came from the instance (the job-event fallback stays quiet). */
  live: boolean;
  cachedSent: boolean;
  executedNodes: Set<string>;
  /** The instance's own `execution_error` data (full: executed, current_inputs, ...). */
  lastError: Record<string, unknown> | null;
  /** The instance's own `execution_interrupted` data (node, class, what had run). */
  lastInterrupted: Record<string, unknown> | null;
  /** The `status` for leaving the gateway queue was sent. */
  counted: boolean;
  started: boolean;
  lastNode: string | null;
}

/** Keeps at most this many jobs' routing state (finished jobs are dropped at once). */
const MAX_TRACKED = 50_000;

/**
 * The gateway's `/ws` for drop-in clients: `status` with `sid` on connect, the `feature_flags`
 * reply, `status` broadcasts when the gateway queue changes, and each drop-in prompt's execution
 * messages — translated from the job events of the dispatch layer — sent only to the sockets of
 * the client id that submitted it, in ComfyUI's order (the history record is in the store before
 * the `status` that lowers `queue_remaining`, and `executing {node: null}` comes last).
 *
 * @example
 * const hub = new ComfyWsHub({ bus, queueRemaining: async () => 0 });
 * hub.attach(socket, { clientId: 'c1', keyId: null });
 */
export class ComfyWsHub {
  readonly #clients = new Map<string, Set<Client>>();
  readonly #tracked = new Map<string, Tracked>();
  readonly #queueRemaining: () => Promise<number>;
  readonly #offs: Array<() => void> = [];
  readonly #instanceEvents: ((instanceId: string) => InstanceEventSource | undefined) | undefined;
  readonly #streams = new Map<string, { source: InstanceEventSource; off: () => void }>();
  readonly #extras: PromptExtras | undefined;
  /** Events are handled one after another so that messages keep their order. */
  #chain: Promise<void> = Promise.resolve();

  constructor(options: {
    bus: EventBus<JobEvents>;
    queueRemaining: () => Promise<number>;
    /** The instance's event stream (per-node messages and previews of our prompts there). */
    instanceEvents?: (instanceId: string) => InstanceEventSource | undefined;
    /** Keeps the temp files and status messages of drop-in prompts (stored before the end messages go out). */
    extras?: PromptExtras;
  }) {
    this.#queueRemaining = options.queueRemaining;
    this.#instanceEvents = options.instanceEvents;
    this.#extras = options.extras;
    const bus = options.bus;
    const serial = <T>(fn: (e: T) => Promise<void> | void) => {
      return (e: T) => {
        // Subscribe to the instance at once, before its first message for this job can arrive.
        const instance = instanceOf(e);
        if (instance !== null) this.#follow(instance);
        this.#chain = this.#chain.then(() => fn(e)).catch(() => undefined);
      };
    };
    this.#offs.push(
      bus.subscribe(
        'job.created',
        serial(({ job }) => this.#onCreated(job)),
      ),
      bus.subscribe(
        'job.status',
        serial(({ job }) => this.#onStatus(job)),
      ),
      bus.subscribe(
        'job.progress',
        serial((e: JobProgressEvent) => this.#onProgress(e)),
      ),
      bus.subscribe(
        'job.completed',
        serial(({ job, outputs }) => this.#onCompleted(job, outputs)),
      ),
      bus.subscribe(
        'job.failed',
        serial(({ job }) => this.#onFailed(job)),
      ),
      bus.subscribe(
        'job.cancelled',
        serial(({ job }) => this.#onCancelled(job)),
      ),
    );
  }

  /** Resolves once every event received so far has been sent. */
  drained(): Promise<void> {
    return this.#chain;
  }

  /** Number of open drop-in sockets. */
  get size(): number {
    let n = 0;
    for (const set of this.#clients.values()) n += set.size;
    return n;
  }

  /** Stops listening and closes every socket. */
  close(): void {
    for (const off of this.#offs.splice(0)) off();
    for (const { off } of this.#streams.values()) off();
    this.#streams.clear();
    for (const set of this.#clients.values()) {
      for (const c of set) c.socket.close(1001, 'gateway shutting down');
    }
    this.#clients.clear();
  }

  /** Registers a connected socket; sends `status` with its `sid`. */
  async attach(
    socket: WebSocket,
    options: { clientId: string | null; keyId: string | null },
  ): Promise<string> {
    const sid =
      options.clientId !== null && options.clientId !== ''
        ? options.clientId
        : randomUUID().replaceAll('-', '');
    const client: Client = {
      sid,
      socket,
      keyId: options.keyId,
      sawFirstMessage: false,
      previewMetadata: false,
      negotiated: false,
      greeted: false,
      backlog: [],
    };
    let set = this.#clients.get(sid);
    if (!set) {
      set = new Set();
      this.#clients.set(sid, set);
    }
    set.add(client);
    const detach = () => {
      const s = this.#clients.get(sid);
      s?.delete(client);
      if (s?.size === 0) this.#clients.delete(sid);
    };
    socket.on('close', detach);
    socket.on('error', detach);
    socket.on('message', (data, isBinary) => {
      if (client.sawFirstMessage) return;
      client.sawFirstMessage = true;
      if (isBinary) return;
      let msg: unknown;
      try {
        msg = JSON.parse(String(data));
      } catch {
        return;
      }
      if (
        msg !== null &&
        typeof msg === 'object' &&
        (msg as { type?: unknown }).type === 'feature_flags'
      ) {
        const flags = (msg as { data?: unknown }).data;
        client.negotiated = true;
        client.previewMetadata =
          flags !== null &&
          typeof flags === 'object' &&
          (flags as Record<string, unknown>).supports_preview_metadata === true;
        send(client, { type: 'feature_flags', data: SERVER_FEATURE_FLAGS });
      }
    });
    const n = await this.#queueRemaining().catch(() => 0);
    const greeting: unknown[] = [
      { type: 'status', data: { status: { exec_info: { queue_remaining: n } }, sid } },
    ];
    // As ComfyUI: a client reconnecting while its prompt runs learns the node (no prompt_id).
    for (const t of this.#tracked.values()) {
      if (t.clientId === sid && t.started && t.lastNode !== null) {
        greeting.push({ type: 'executing', data: { node: t.lastNode } });
        break;
      }
    }
    client.greeted = true;
    for (const frame of [...greeting.map((m) => JSON.stringify(m)), ...client.backlog.splice(0)]) {
      sendRaw(client, frame);
    }
    return sid;
  }

  /** Remembers who submitted a prompt (before its first event can arrive). */
  track(job: Job): void {
    this.#trackedFor(job);
  }

  #trackedFor(job: Job): Tracked | undefined {
    let t = this.#tracked.get(job.id);
    if (t) return t;
    // Jobs of other APIs are tracked too (without a client): only their status counts.
    const meta = comfyMetaOf(job);
    if (this.#tracked.size >= MAX_TRACKED) {
      const oldest = this.#tracked.keys().next().value;
      if (oldest !== undefined) this.#tracked.delete(oldest);
    }
    t = {
      clientId: meta?.client_id ?? null,
      owner: job.owner,
      promptId: promptIdOf(job),
      jobId: job.id,
      dropIn: meta !== undefined,
      instanceStarted: false,
      messages: [],
      live: false,
      cachedSent: false,
      executedNodes: new Set(),
      lastError: null,
      lastInterrupted: null,
      counted: false,
      started: false,
      lastNode: null,
    };
    this.#tracked.set(job.id, t);
    return t;
  }

  async #broadcastStatus(): Promise<void> {
    // Nobody to tell (only other APIs' jobs, or no socket open): no count; a socket that opens
    // later gets its own in its greeting.
    if (this.size === 0) return;
    const n = await this.#queueRemaining().catch(() => 0);
    const msg = { type: 'status', data: { status: { exec_info: { queue_remaining: n } } } };
    for (const set of this.#clients.values()) for (const c of set) send(c, msg);
  }

  /** Execution messages go to the submitting client id only (and only to its key's sockets). */
  #toClient(t: Tracked, msg: { type: string; data: unknown }, broadcast = false): void {
    for (const c of this.#audience(t, broadcast)) send(c, msg);
  }

  /**
   * Who gets a prompt's message: the sockets of its client id; for a prompt without one, nobody,
   * or — for what ComfyUI broadcasts then (`progress`, `progress_state`, previews,
   * `execution_interrupted`) — every socket (drop-in prompts only: jobs of the other APIs have no
   * ComfyUI client). Always only sockets of the prompt's key when auth is on.
   */
  *#audience(t: Tracked, broadcast: boolean): Iterable<Client> {
    const sets =
      t.clientId !== null
        ? [this.#clients.get(t.clientId) ?? new Set<Client>()]
        : broadcast && t.dropIn
          ? [...this.#clients.values()]
          : [];
    for (const set of sets) {
      for (const c of set) {
        if (c.keyId !== null && t.owner !== null && c.keyId !== t.owner) continue;
        yield c;
      }
    }
  }

  #start(t: Tracked, at: number): void {
    if (t.started) return;
    t.started = true;
    this.#toClient(t, { type: 'execution_start', data: { prompt_id: t.promptId, timestamp: at } });
  }

  /** execution_start, then execution_cached (the instance's list, or none known). */
  #cached(t: Tracked, at: number, nodes: unknown[] = []): void {
    this.#start(t, at);
    if (t.cachedSent) return;
    t.cachedSent = true;
    this.#toClient(t, {
      type: 'execution_cached',
      data: { nodes, prompt_id: t.promptId, timestamp: at },
    });
  }

  /** Follows an instance's event stream (again after its connection was replaced). */
  #follow(instanceId: string): void {
    const source = this.#instanceEvents?.(instanceId);
    const have = this.#streams.get(instanceId);
    if (!source || have?.source === source) return;
    have?.off();
    const off = source.on('message', (e) => {
      const promptId = e.promptId;
      if (promptId === undefined) return;
      const t = this.#tracked.get(promptId);
      if (!t) return;
      this.#chain = this.#chain
        .then(() => this.#onInstance(t, e, instanceId))
        .catch(() => undefined);
    });
    this.#streams.set(instanceId, { source, off });
  }

  /**
   * A message of one of our prompts on its instance: per-node messages and previews are
   * forwarded (prompt_id rewritten, output files pointing at the gateway); the start and the end
   * come from the job events, so that the history record is stored before they are sent.
   */
  #onInstance(t: Tracked, e: ComfyEvent, instanceId: string): void {
    if (!this.#tracked.has(t.jobId)) return; // finished meanwhile
    const now = Date.now();
    if (e.type === 'binary' && !e.unknown) {
      const f = e.frame;
      if (f.kind === 'text') {
        this.#textToClient(t, f.node_id, f.text);
        return;
      }
      if (f.kind !== 'preview' && f.kind !== 'preview_with_metadata') return;
      t.live = true;
      this.#cached(t, now);
      const metadata =
        f.kind === 'preview_with_metadata'
          ? { ...f.metadata, prompt_id: t.promptId }
          : {
              node_id: t.lastNode ?? '',
              prompt_id: t.promptId,
              display_node_id: t.lastNode ?? '',
              parent_node_id: null,
              real_node_id: t.lastNode ?? '',
              image_type: f.mime,
            };
      this.#binaryToClient(t, f.image, f.mime, metadata);
      return;
    }
    if (e.unknown) return;
    switch (e.type) {
      case 'execution_start':
        t.instanceStarted = true;
        t.messages = [['execution_start', { ...e.data }]];
        this.#start(t, now);
        return;
      case 'execution_cached':
        t.messages.push(['execution_cached', { ...e.data }]);
        this.#cached(t, now, e.data.nodes);
        return;
      case 'execution_success':
        t.messages.push(['execution_success', { ...e.data }]);
        return;
      case 'executing': {
        const node = e.data.node;
        if (node === null || node === undefined) return;
        t.live = true;
        this.#cached(t, now);
        t.lastNode = node;
        this.#toClient(t, {
          type: 'executing',
          data: { node, display_node: e.data.display_node ?? node, prompt_id: t.promptId },
        });
        return;
      }
      case 'progress':
        t.live = true;
        this.#cached(t, now);
        this.#toClient(t, { type: 'progress', data: { ...e.data, prompt_id: t.promptId } }, true);
        return;
      case 'progress_state': {
        t.live = true;
        this.#cached(t, now);
        const nodes: Record<string, unknown> = {};
        for (const [id, n] of Object.entries(e.data.nodes ?? {})) {
          nodes[id] = { ...n, prompt_id: t.promptId };
        }
        this.#toClient(t, { type: 'progress_state', data: { prompt_id: t.promptId, nodes } }, true);
        return;
      }
      case 'executed': {
        t.live = true;
        this.#cached(t, now);
        const node = e.data.node;
        t.executedNodes.add(node);
        if (t.dropIn) this.#extras?.capture(t.jobId, instanceId, node, e.data.output);
        this.#toClient(t, {
          type: 'executed',
          data: {
            node,
            display_node: e.data.display_node ?? node,
            output: gatewayOutputValue(t.jobId, e.data.output),
            prompt_id: t.promptId,
          },
        });
        return;
      }
      case 'execution_interrupted':
        t.lastInterrupted = { ...e.data, prompt_id: t.promptId };
        t.messages.push(['execution_interrupted', t.lastInterrupted]);
        return;
      case 'execution_error':
        // Sent at the end (after the store has the failure); ExecutionBlocked does not end it.
        if (e.data.exception_type !== 'ExecutionBlocked') {
          t.lastError = { ...e.data, prompt_id: t.promptId };
          t.messages.push(['execution_error', t.lastError]);
          return;
        }
        // A blocked node (the prompt goes on): as ComfyUI, at once, broadcast without a client.
        this.#toClient(
          t,
          { type: 'execution_error', data: { ...e.data, prompt_id: t.promptId } },
          true,
        );
        return;
      default:
        return;
    }
  }

  /**
   * Progress text (binary type 3) of the prompt's node. ComfyUI broadcasts it; the gateway sends
   * it to the prompt's client only (every socket for a prompt without one, as previews), and only
   * to sockets that negotiated feature flags: clients that never do (older libraries) may fail
   * on a binary type they do not know.
   */
  #textToClient(t: Tracked, nodeId: string, text: string): void {
    const frame = encodeTextFrame(nodeId, text);
    for (const c of this.#audience(t, true)) {
      if (c.negotiated) sendRaw(c, frame);
    }
  }

  #binaryToClient(
    t: Tracked,
    image: Uint8Array,
    mime: 'image/png' | 'image/jpeg',
    metadata: Parameters<typeof encodePreviewWithMetadataFrame>[1],
  ): void {
    for (const c of this.#audience(t, true)) {
      sendRaw(
        c,
        c.previewMetadata
          ? encodePreviewWithMetadataFrame(image, metadata)
          : encodePreviewFrame(image, mime),
      );
    }
  }

  #executing(t: Tracked, node: string): void {
    if (t.lastNode === node) return;
    t.lastNode = node;
    this.#toClient(t, {
      type: 'executing',
      data: { node, display_node: node, prompt_id: t.promptId },
    });
  }

  async #onCreated(job: Job): Promise<void> {
    this.#trackedFor(job);
    await this.#broadcastStatus();
  }

  async #onStatus(job: Job): Promise<void> {
    const t = this.#trackedFor(job);
    if (job.status === 'pending') {
      if (t) {
        t.counted = false;
        t.instanceStarted = false;
        t.messages = [];
      }
      // Back in the queue: what an earlier attempt previewed is not this prompt's result.
      this.#extras?.forget(job.id);
      await this.#broadcastStatus();
      return;
    }
    if (job.status !== 'processing') return;
    // As ComfyUI: the worker takes the prompt (status), then execution_start.
    if (!t?.counted) {
      if (t) t.counted = true;
      await this.#broadcastStatus();
    }
    if (t && job.phase === 'running') this.#start(t, job.started_at ?? Date.now());
  }

  #onProgress(e: JobProgressEvent): void {
    const t = this.#tracked.get(e.job_id);
    if (!t || t.live) return;
    this.#cached(t, Date.now());
    const node = e.progress.node;
    if (node === null) return;
    this.#executing(t, node);
    if (e.progress.step !== null && e.progress.steps !== null) {
      this.#toClient(
        t,
        {
          type: 'progress',
          data: { value: e.progress.step, max: e.progress.steps, prompt_id: t.promptId, node },
        },
        true,
      );
    }
  }

  async #finish(job: Job, t: Tracked): Promise<void> {
    this.#tracked.delete(job.id);
    await this.#broadcastStatus();
    this.#toClient(t, { type: 'executing', data: { node: null, prompt_id: t.promptId } });
  }

  /** The job's temp files and status messages, stored before its end is announced. */
  async #settleExtras(job: Job, t: Tracked): Promise<Partial<PromptExtrasRecord>> {
    if (!t.dropIn || !this.#extras) return {};
    // The record is written after the end is announced: it can be done without (see PromptExtras).
    const record = await this.#extras
      .settle(job.id, job.instance_id, t.instanceStarted, t.instanceStarted ? t.messages : null)
      .catch(() => null);
    return record ?? this.#extras.read(job.id);
  }

  async #onCompleted(job: Job, outputs: JobOutput[]): Promise<void> {
    const t = this.#trackedFor(job);
    if (!t) return void (await this.#broadcastStatus());
    const extras = await this.#settleExtras(job, t);
    this.#cached(t, job.started_at ?? Date.now());
    for (const [node, output] of Object.entries(outputsDict(job, outputs, extras.temps))) {
      if (t.executedNodes.has(node)) continue;
      this.#executing(t, node);
      this.#toClient(t, {
        type: 'executed',
        data: { node, display_node: node, output, prompt_id: t.promptId },
      });
    }
    this.#toClient(t, {
      type: 'execution_success',
      data: { prompt_id: t.promptId, timestamp: job.completed_at ?? Date.now() },
    });
    await this.#finish(job, t);
  }

  async #onFailed(job: Job): Promise<void> {
    const t = this.#trackedFor(job);
    if (!t) return void (await this.#broadcastStatus());
    await this.#settleExtras(job, t);
    this.#cached(t, job.started_at ?? Date.now());
    const data = t.lastError ?? executionErrorData(job);
    this.#toClient(t, { type: 'execution_error', data });
    await this.#finish(job, t);
  }

  async #onCancelled(job: Job): Promise<void> {
    const t = this.#trackedFor(job);
    if (!t) return void (await this.#broadcastStatus());
    if (!t.started) {
      // Removed while waiting in the gateway: ComfyUI only updates the queue count.
      this.#tracked.delete(job.id);
      this.#extras?.forget(job.id);
      await this.#broadcastStatus();
      return;
    }
    await this.#settleExtras(job, t);
    this.#toClient(
      t,
      { type: 'execution_interrupted', data: t.lastInterrupted ?? interruptedData(job) },
      true,
    );
    await this.#finish(job, t);
  }
}

function instanceOf(e: unknown): string | null {
  if (e === null || typeof e !== 'object') return null;
  const r = e as { job?: { instance_id?: unknown }; instance_id?: unknown };
  const id = r.job?.instance_id ?? r.instance_id;
  return typeof id === 'string' ? id : null;
}

function send(c: Client, msg: unknown): void {
  sendRaw(c, JSON.stringify(msg));
}

function sendRaw(c: Client, frame: string | Buffer): void {
  if (!c.greeted) {
    if (c.backlog.length < MAX_BACKLOG) c.backlog.push(frame);
    return;
  }
  if (c.socket.readyState !== 1) return;
  c.socket.send(frame);
}
