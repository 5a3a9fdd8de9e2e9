import type { InstanceAlert } from '../../store/index.js';
import { ALERT_KINDS, type AlertKind, type AlertView } from './health-events.js';
import type { AlertConditions } from './health-rules.js';
import type { HealthLogger, HealthStore } from './monitor-options.js';
import type { WebhookSender } from './webhook-sender.js';

/** What {@link AlertManager} works with. */
export interface AlertManagerOptions {
  store?: HealthStore['alerts'] | undefined;
  publish: (type: 'alert.raised' | 'alert.cleared', alert: AlertView) => void;
  webhook?: WebhookSender | undefined;
  /** Instance name for webhook payloads. */
  instanceName: (id: string) => string | null;
  clock: () => number;
  logger?: HealthLogger | undefined;
}

const KINDS = new Set<string>(ALERT_KINDS);

function isAlertKind(kind: string): kind is AlertKind {
  return KINDS.has(kind);
}

function view(row: InstanceAlert): AlertView | undefined {
  if (!isAlertKind(row.kind)) return undefined;
  return {
    id: Number(row.id),
    instance_id: row.instance_id,
    kind: row.kind,
    reason: row.reason,
    value: row.value,
    raised_at: new Date(Number(row.raised_at)).toISOString(),
    cleared_at: row.cleared_at === null ? null : new Date(Number(row.cleared_at)).toISOString(),
  };
}

/**
 * Raises and clears alerts per instance: keeps the open ones in memory, writes them to the store
 * (one open alert per instance and kind), publishes `alert.raised` / `alert.cleared` once the
 * store has them, and hands them to the admin webhook. Work per instance runs in order, in the
 * background: callers never wait for the store or the webhook.
 *
 * @example
 * const alerts = new AlertManager({ store: store.alerts, publish, instanceName, clock: Date.now });
 * alerts.sync('gpu1', { unhealthy: { reason: 'circuit open after 3 consecutive failures', value: 3 } });
 * alerts.sync('gpu1', { unhealthy: null }); // cleared
 */
export class AlertManager {
  readonly #options: AlertManagerOptions;
  readonly #open = new Map<string, Map<AlertKind, AlertView>>();
  readonly #chains = new Map<string, Promise<void>>();

  constructor(options: AlertManagerOptions) {
    this.#options = options;
  }

  /** Open alerts (of one instance, or all), newest first. */
  open(instanceId?: string): AlertView[] {
    const lists =
      instanceId === undefined
        ? [...this.#open.values()]
        : [this.#open.get(instanceId) ?? new Map()];
    return lists
      .flatMap((m) => [...m.values()])
      .sort((a, b) => b.raised_at.localeCompare(a.raised_at))
      .map((a) => ({ ...a }));
  }

  /** Adopts the alerts a previous run left open for this instance (they clear when their condition is seen to end). */
  load(instanceId: string): void {
    const store = this.#options.store;
    if (!store) return;
    this.#enqueue(instanceId, async () => {
      const rows = await store.list({ instanceId, open: true, limit: 1000 });
      const open = this.#openOf(instanceId);
      for (const row of rows) {
        const alert = view(row);
        if (alert && !open.has(alert.kind)) open.set(alert.kind, alert);
      }
    });
  }

  /** Applies conditions: raises those that hold and are not open, clears open ones that ended. */
  sync(instanceId: string, conditions: AlertConditions): void {
    if (!this.#chains.has(instanceId) && !this.#changes(instanceId, conditions)) return;
    this.#enqueue(instanceId, () => this.#apply(instanceId, conditions));
  }

  /** Clears every open alert of an instance (it is no longer monitored). */
  clearAll(instanceId: string): void {
    const conditions: AlertConditions = {};
    for (const kind of ALERT_KINDS) conditions[kind] = null;
    this.#enqueue(instanceId, async () => {
      await this.#apply(instanceId, conditions);
      if (this.#open.get(instanceId)?.size === 0) this.#open.delete(instanceId);
    });
  }

  /** Resolves when every queued store write and event is done. */
  async idle(): Promise<void> {
    while (this.#chains.size > 0) await Promise.all([...this.#chains.values()]);
  }

  #openOf(instanceId: string): Map<AlertKind, AlertView> {
    let open = this.#open.get(instanceId);
    if (!open) {
      open = new Map();
      this.#open.set(instanceId, open);
    }
    return open;
  }

  #changes(instanceId: string, conditions: AlertConditions): boolean {
    const open = this.#open.get(instanceId);
    for (const kind of ALERT_KINDS) {
      const c = conditions[kind];
      if (c === undefined) continue;
      if ((c !== null) !== (open?.has(kind) ?? false)) return true;
    }
    return false;
  }

  #enqueue(instanceId: string, step: () => Promise<void>): void {
    const previous = this.#chains.get(instanceId) ?? Promise.resolve();
    const next = previous
      .then(step)
      .catch((err: unknown) => {
        this.#options.logger?.warn(
          { instance: instanceId, err: err instanceof Error ? err.message : String(err) },
          'alert could not be written to the store',
        );
      })
      .finally(() => {
        if (this.#chains.get(instanceId) === next) this.#chains.delete(instanceId);
      });
    this.#chains.set(instanceId, next);
  }

  async #apply(instanceId: string, conditions: AlertConditions): Promise<void> {
    const { store, clock } = this.#options;
    const open = this.#openOf(instanceId);
    for (const kind of ALERT_KINDS) {
      const condition = conditions[kind];
      if (condition === undefined) continue;
      const current = open.get(kind);
      if (condition && !current) {
        const at = clock();
        let alert: AlertView = {
          id: null,
          instance_id: instanceId,
          kind,
          reason: condition.reason,
          value: condition.value,
          raised_at: new Date(at).toISOString(),
          cleared_at: null,
        };
        if (store) {
          const { alert: row, created } = await store.raise({
            instance_id: instanceId,
            kind,
            reason: condition.reason,
            value: condition.value,
            raised_at: at,
          });
          alert = view(row) ?? alert;
          open.set(kind, alert);
          // Already open in the store (left by an earlier run): adopt it without a second announcement.
          if (!created) continue;
        } else {
          open.set(kind, alert);
        }
        this.#announce('alert.raised', alert);
      } else if (!condition && current) {
        const at = clock();
        open.delete(kind);
        if (store) await store.clear(instanceId, kind, at);
        this.#announce('alert.cleared', { ...current, cleared_at: new Date(at).toISOString() });
      }
    }
  }

  #announce(type: 'alert.raised' | 'alert.cleared', alert: AlertView): void {
    this.#options.publish(type, alert);
    this.#options.webhook?.send({
      event: type,
      alert,
      instance: { id: alert.instance_id, name: this.#options.instanceName(alert.instance_id) },
      sent_at: new Date(this.#options.clock()).toISOString(),
    });
  }
}
