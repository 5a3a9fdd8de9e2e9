/**
 * A map from event type to payload type, e.g. `{ 'instance.added': { id: string } }`.
 * Payloads should be JSON-serialisable: a cross-node implementation (PostgreSQL LISTEN/NOTIFY)
 * sends them over the wire.
 */
export type EventMap = { [type: string]: unknown };

/** One event as a wildcard subscriber sees it: a union discriminated by `type`. */
export type BusEvent<M extends EventMap> = {
  [K in keyof M & string]: { type: K; payload: M[K] };
}[keyof M & string];

/** Calling it removes the subscription; calling it again does nothing. */
export type Unsubscribe = () => void;

/** Handler for one event type. A returned promise is awaited only to catch its rejection. */
export type EventHandler<M extends EventMap, K extends keyof M & string> = (
  payload: M[K],
  type: K,
) => unknown;

/** Handler for every event type. A returned promise is awaited only to catch its rejection. */
export type WildcardHandler<M extends EventMap> = (event: BusEvent<M>) => unknown;

/**
 * Publish/subscribe between modules. The in-process implementation delivers synchronously; other
 * implementations may deliver later, so publishers must not rely on handlers having run.
 *
 * @example
 * type Events = { 'instance.added': { id: string } };
 * const bus: EventBus<Events> = new InProcessEventBus<Events>();
 * const off = bus.subscribe('instance.added', (p) => console.log(p.id));
 * bus.publish('instance.added', { id: 'a' });
 * off();
 */
export interface EventBus<M extends EventMap> {
  publish<K extends keyof M & string>(type: K, payload: M[K]): void;
  subscribe<K extends keyof M & string>(type: K, handler: EventHandler<M, K>): Unsubscribe;
  subscribe(type: '*', handler: WildcardHandler<M>): Unsubscribe;
  /** Subscriptions for one type (`'*'` counts wildcard ones), or all when omitted. */
  listenerCount(type?: (keyof M & string) | '*'): number;
}

/** Called when a handler throws or rejects; the other handlers still run. */
export type HandlerErrorReporter = (error: unknown, type: string) => void;

type AnyHandler = (payload: unknown, type: string) => unknown;

function defaultReporter(error: unknown, type: string): void {
  const why = error instanceof Error ? error.message : String(error);
  process.emitWarning(`event handler for "${type}" failed: ${why}`, 'EventBusHandlerError');
}

/**
 * The in-process {@link EventBus}: synchronous delivery in subscription order, typed handlers
 * first, then wildcard handlers. A handler that throws (or rejects) is reported to `onHandlerError`
 * and does not stop the others. Unsubscribing during delivery is safe.
 *
 * @example
 * const bus = new InProcessEventBus<{ tick: number }>({ onHandlerError: (e) => log.error(e) });
 * bus.subscribe('*', (e) => console.log(e.type, e.payload));
 * bus.publish('tick', 1);
 */
export class InProcessEventBus<M extends EventMap> implements EventBus<M> {
  readonly #byType = new Map<string, Set<AnyHandler>>();
  readonly #wildcard = new Set<WildcardHandler<M>>();
  readonly #onHandlerError: HandlerErrorReporter;

  constructor(options: { onHandlerError?: HandlerErrorReporter } = {}) {
    this.#onHandlerError = options.onHandlerError ?? defaultReporter;
  }

  publish<K extends keyof M & string>(type: K, payload: M[K]): void {
    const typed = this.#byType.get(type);
    // Copies: a handler may (un)subscribe while we iterate.
    if (typed) for (const h of [...typed]) this.#call(() => h(payload, type), type);
    if (this.#wildcard.size > 0) {
      const event = { type, payload } as BusEvent<M>;
      for (const h of [...this.#wildcard]) this.#call(() => h(event), type);
    }
  }

  subscribe<K extends keyof M & string>(type: K, handler: EventHandler<M, K>): Unsubscribe;
  subscribe(type: '*', handler: WildcardHandler<M>): Unsubscribe;
  subscribe(type: string, handler: (...args: never[]) => unknown): Unsubscribe {
    if (type === '*') {
      // Wrap so the same function subscribed twice gets two independent subscriptions.
      const h: WildcardHandler<M> = (e) => (handler as unknown as WildcardHandler<M>)(e);
      this.#wildcard.add(h);
      return () => {
        this.#wildcard.delete(h);
      };
    }
    const h: AnyHandler = (p, t) => (handler as unknown as AnyHandler)(p, t);
    let set = this.#byType.get(type);
    if (!set) {
      set = new Set();
      this.#byType.set(type, set);
    }
    set.add(h);
    return () => {
      const current = this.#byType.get(type);
      if (!current) return;
      current.delete(h);
      // Drop empty sets so publishing many distinct types does not grow the map forever.
      if (current.size === 0) this.#byType.delete(type);
    };
  }

  listenerCount(type?: (keyof M & string) | '*'): number {
    if (type === '*') return this.#wildcard.size;
    if (type !== undefined) return this.#byType.get(type)?.size ?? 0;
    let n = this.#wildcard.size;
    for (const set of this.#byType.values()) n += set.size;
    return n;
  }

  #call(run: () => unknown, type: string): void {
    try {
      const result = run();
      if (result instanceof Promise) {
        result.then(undefined, (err: unknown) => this.#report(err, type));
      }
    } catch (err) {
      this.#report(err, type);
    }
  }

  #report(error: unknown, type: string): void {
    try {
      this.#onHandlerError(error, type);
    } catch {
      // A failing reporter must not break delivery to the remaining handlers.
    }
  }
}
