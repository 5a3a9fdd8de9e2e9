import type { InstanceHealth, InstanceStatus, InstanceView } from '../../api/index.js';
import type { HealthMap } from '../../state/apply-event.js';
import { healthOf } from '../../state/health.js';

export interface InstanceFilter {
  text: string;
  status: '' | InstanceStatus;
  health: '' | InstanceHealth;
  tag: string;
}

export const NO_FILTER: InstanceFilter = { text: '', status: '', health: '', tag: '' };

/** The health word of an instance (`unknown` before the first check). */
export function healthWord(map: HealthMap, i: InstanceView): InstanceHealth {
  return healthOf(map, i).health;
}

/**
 * The instances matching a filter: text against name, host:port, id, description and tags;
 * status, health and tag exact. Order is kept.
 *
 * @example
 * filterInstances(list, health, { text: 'gpu', status: 'running', health: '', tag: '' });
 */
export function filterInstances(
  list: readonly InstanceView[],
  health: HealthMap,
  f: InstanceFilter,
): InstanceView[] {
  const words = f.text.toLowerCase().split(/\s+/).filter(Boolean);
  return list.filter((i) => {
    if (f.status && i.status !== f.status) return false;
    if (f.health && healthWord(health, i) !== f.health) return false;
    if (f.tag && !i.tags.includes(f.tag)) return false;
    if (words.length === 0) return true;
    const hay =
      `${i.name} ${i.id} ${i.host}:${i.port} ${i.description} ${i.tags.join(' ')} ${i.gpu_device ?? ''}`.toLowerCase();
    return words.every((w) => hay.includes(w));
  });
}

/** Every tag in use, sorted. */
export function allTags(list: readonly InstanceView[]): string[] {
  return [...new Set(list.flatMap((i) => i.tags))].sort();
}

/** Which lifecycle actions make sense in a status. */
export function actionsFor(status: InstanceStatus): Array<'start' | 'stop' | 'pause' | 'resume'> {
  switch (status) {
    case 'running':
      return ['pause', 'stop'];
    case 'paused':
      return ['resume', 'stop'];
    case 'starting':
      return ['stop'];
    case 'stopping':
      return [];
    default:
      return ['start'];
  }
}
