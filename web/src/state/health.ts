import type { InstanceHealthReport, InstanceView } from '../api/index.js';
import type { HealthMap } from './apply-event.js';
import { toMs } from './format.js';

/** A report built from what an instance list item carries (health, details, figures). */
export function reportFromItem(i: InstanceView): InstanceHealthReport {
  const d = i.health_details;
  return {
    instance_id: i.id,
    health: i.health ?? 'unknown',
    circuit: d?.circuit ?? 'closed',
    reasons: d?.reasons ?? [],
    checked_at: d?.checked_at ?? null,
    latency_ms: d?.latency_ms ?? null,
    consecutive_failures: d?.consecutive_failures ?? 0,
    last_error: d?.last_error ?? null,
    next_probe_at: d?.next_probe_at ?? null,
    comfyui_version: d?.comfyui_version ?? null,
    vram_free: d?.vram_free ?? null,
    vram_total: d?.vram_total ?? null,
    queue: i.figures?.instance_queue ?? null,
  };
}

/**
 * The freshest health of an instance: the live report from events when it is at least as new
 * as what the last list fetch carried, else the list's.
 *
 * @example
 * healthOf(map, instance)?.health; // 'healthy'
 */
export function healthOf(map: HealthMap, i: InstanceView): InstanceHealthReport {
  const live = map[i.id];
  const fromItem = reportFromItem(i);
  if (!live) return fromItem;
  if (i.health === undefined) return live;
  const a = toMs(live.checked_at) ?? 0;
  const b = toMs(fromItem.checked_at) ?? 0;
  if (a > b) return live;
  if (b > a) return { ...live, ...fromItem, queue: fromItem.queue ?? live.queue ?? null };
  // Same check: the live event is the later word on the state (e.g. monitoring stopped).
  return { ...fromItem, ...live };
}
