import type { EventBus, EventMap, Unsubscribe } from '../../store/index.js';
import type { Principal } from '../auth/principal.js';

/** One event as SSE and WebSocket subscribers receive it. */
export interface StreamEvent {
  /** Increasing per gateway process; the SSE `id:`. */
  id: number;
  type: string;
  /** ISO-8601 time the gateway saw it. */
  time: string;
  data: unknown;
}

/** Where a subscription's events go. `send` gets the event and its JSON, serialized once. */
export interface EventSink {
  send(event: StreamEvent, json: string): void;
  /** Ends the connection (the hub is closing, or the consumer is too slow). */
  close(reason: 'shutdown' | 'slow_consumer'): void;
  /** Keep-alive for idle connections. */
  heartbeat(): void;
}

/** Who may see an event; the default lets admins see everything and others nothing yet. */
export type EventVisibility = (principal: Principal, event: StreamEvent) => boolean;

/**
 * A visibility rule for some events (e.g. job events: a user sees its own jobs). Returns
 * undefined for events it does not decide; the first rule that decides wins.
 */
export type VisibilityRule = (principal: Principal, event: StreamEvent) => boolean | undefined;

/** A subscription's filter: exact types and `prefix.*` patterns; empty = everything visible. */
export interface EventFilter {
  types: string[];
}

/** Options of {@link EventHub}. */
export interface EventHubOptions {
  /** ms between heartbeats (default 15 000). */
  heartbeatMs?: number;
  /** Subscriptions at most; more are refused (default 1 000). */
  maxSubscribers?: number;
  visibility?: EventVisibility;
  clock?: () => number;
}

interface Subscription {
  principal: Principal;
  exact: Set<string>;
  prefixes: string[];
  sink: EventSink;
}

const adminsOnly: EventVisibility = (principal) => principal.role === 'admin';

/**
 * Fans the bus out to event-stream connections (SSE and WebSocket): one bus subscription for
 * all of them, event ids in publication order, filtering by type, per-principal visibility, a
 * heartbeat timer for every connection, and a close of everything at shutdown. New event families
 * (job events) add their type names with {@link registerTypes}.
 *
 * @example
 * const hub = new EventHub([registry.bus, monitor.bus]);
 * hub.registerTypes(['instance.added', 'instance.health']);
 * const off = hub.subscribe(principal, { types: ['instance.*'] }, sink);
 * await hub.close();
 */
export class EventHub {
  readonly #buses: EventBus<EventMap>[];
  readonly #types = new Set<string>();
  readonly #subscriptions = new Set<Subscription>();
  readonly #visibility: EventVisibility;
  readonly #rules: VisibilityRule[] = [];
  readonly #heartbeatMs: number;
  readonly #maxSubscribers: number;
  readonly #clock: () => number;
  #unsubscribe: Unsubscribe[] = [];
  #timer: NodeJS.Timeout | undefined;
  #seq = 0;
  #closed = false;

  constructor(buses: readonly EventBus<EventMap>[], options: EventHubOptions = {}) {
    // The registry and the monitor usually share one bus: subscribe to it once.
    this.#buses = [...new Set(buses)];
    this.#visibility = options.visibility ?? adminsOnly;
    this.#heartbeatMs = options.heartbeatMs ?? 15_000;
    this.#maxSubscribers = options.maxSubscribers ?? 1_000;
    this.#clock = options.clock ?? Date.now;
  }

  /** Event types subscribers may ask for. */
  get types(): string[] {
    return [...this.#types].sort();
  }

  /** Adds event type names (and so makes them streamable). */
  registerTypes(types: Iterable<string>): void {
    for (const t of types) this.#types.add(t);
  }

  /** Adds a visibility rule, consulted before the default (admins see everything). */
  addVisibilityRule(rule: VisibilityRule): void {
    this.#rules.push(rule);
  }

  /** Connections open now. */
  get size(): number {
    return this.#subscriptions.size;
  }

  /** The id the next event will get minus one (the newest id handed out). */
  get lastId(): number {
    return this.#seq;
  }

  /**
   * Checks a `types` filter: every entry must be a known type or `<prefix>.*` matching one.
   * Returns the unknown entries (empty when all are fine).
   */
  unknownTypes(filter: EventFilter): string[] {
    return filter.types.filter((t) => {
      if (t.endsWith('.*')) {
        const prefix = t.slice(0, -1);
        return ![...this.#types].some((k) => k.startsWith(prefix));
      }
      return !this.#types.has(t);
    });
  }

  /** True when one more subscription would be accepted. */
  hasRoom(): boolean {
    return !this.#closed && this.#subscriptions.size < this.#maxSubscribers;
  }

  /** Starts delivering; returns the function that ends the subscription. */
  subscribe(principal: Principal, filter: EventFilter, sink: EventSink): Unsubscribe {
    if (this.#closed) {
      sink.close('shutdown');
      return () => undefined;
    }
    this.#start();
    const sub: Subscription = {
      principal,
      exact: new Set(filter.types.filter((t) => !t.endsWith('.*'))),
      prefixes: filter.types.filter((t) => t.endsWith('.*')).map((t) => t.slice(0, -1)),
      sink,
    };
    this.#subscriptions.add(sub);
    return () => {
      this.#subscriptions.delete(sub);
      if (this.#subscriptions.size === 0) this.#stop();
    };
  }

  /** Closes every connection and stops listening. Further subscriptions are refused. */
  async close(): Promise<void> {
    this.#closed = true;
    const subs = [...this.#subscriptions];
    this.#subscriptions.clear();
    this.#stop();
    for (const s of subs) {
      try {
        s.sink.close('shutdown');
      } catch {
        // already gone
      }
    }
  }

  // Listens to the bus only while someone is connected.
  #start(): void {
    if (this.#unsubscribe.length > 0) return;
    this.#unsubscribe = this.#buses.map((bus) =>
      bus.subscribe('*', (e) => this.#deliver(e.type, e.payload)),
    );
    this.#timer = setInterval(() => this.#heartbeat(), this.#heartbeatMs);
    this.#timer.unref();
  }

  #stop(): void {
    for (const off of this.#unsubscribe) off();
    this.#unsubscribe = [];
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #deliver(type: string, payload: unknown): void {
    if (!this.#types.has(type) || this.#subscriptions.size === 0) return;
    const event: StreamEvent = {
      id: ++this.#seq,
      type,
      time: new Date(this.#clock()).toISOString(),
      data: payload,
    };
    let json: string | undefined;
    for (const sub of [...this.#subscriptions]) {
      if (!this.#wants(sub, type) || !this.#visible(sub.principal, event)) continue;
      json ??= JSON.stringify(event);
      try {
        sub.sink.send(event, json);
      } catch {
        this.#subscriptions.delete(sub);
      }
    }
  }

  #visible(principal: Principal, event: StreamEvent): boolean {
    for (const rule of this.#rules) {
      const decided = rule(principal, event);
      if (decided !== undefined) return decided;
    }
    return this.#visibility(principal, event);
  }

  #wants(sub: Subscription, type: string): boolean {
    if (sub.exact.size === 0 && sub.prefixes.length === 0) return true;
    return sub.exact.has(type) || sub.prefixes.some((p) => type.startsWith(p));
  }

  #heartbeat(): void {
    for (const sub of [...this.#subscriptions]) {
      try {
        sub.sink.heartbeat();
      } catch {
        this.#subscriptions.delete(sub);
      }
    }
  }
}
