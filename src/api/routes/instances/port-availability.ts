/**
 * Whether a managed instance could listen on a port of this machine, and which port to use
 * instead. Probes by binding (the supervisor's own check, `assertPortFree`), never by
 * connecting, and only on addresses of this machine.
 */
import { hostname, networkInterfaces } from 'node:os';
import type { InstanceView } from '../../../fleet/index.js';
import { assertPortFree, type PortHolder, PortInUseError } from '../../../supervisor/index.js';

/** The answer of `GET /api/v1/instances/ports`. */
export interface PortAvailability {
  port: number;
  host: string;
  available: boolean;
  /** Why not, in words (held by a process, used by a configured instance, not permitted). */
  reason: string | null;
  /** The process listening there, when it could be found. */
  holder?: PortHolder;
  /** A configured instance on this machine with that port. */
  used_by?: { id: string; name: string };
  /** The first port from `port` upward that is free and no configured local instance uses. */
  suggested: number | null;
}

/** How far up from the asked port a suggestion is looked for. */
export const SUGGEST_RANGE = 100;

const WILDCARDS = new Set(['0.0.0.0', '::', 'localhost']);

function bare(host: string): string {
  return host
    .trim()
    .replace(/^\[(.*)\]$/, '$1')
    .toLowerCase();
}

/**
 * True when `host` is an address of this machine that may be probed: loopback, the wildcard
 * addresses, `localhost`, or an address of one of its network interfaces (no name lookups).
 *
 * @example
 * isLocalAddress('127.0.0.1'); // true
 * isLocalAddress('10.9.8.7'); // false unless an interface has it
 */
export function isLocalAddress(host: string): boolean {
  const h = bare(host);
  if (WILDCARDS.has(h) || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h)) return true;
  for (const list of Object.values(networkInterfaces())) {
    for (const address of list ?? []) {
      if (bare(address.address) === h) return true;
    }
  }
  return false;
}

/** {@link isLocalAddress}, or this machine's host name (for configured instances only). */
function isLocalHost(host: string): boolean {
  return isLocalAddress(host) || bare(host) === hostname().toLowerCase();
}

interface Probe {
  available: boolean;
  reason: string | null;
  holder?: PortHolder;
}

async function probe(host: string, port: number): Promise<Probe> {
  try {
    await assertPortFree(host, port);
    return { available: true, reason: null };
  } catch (err) {
    if (err instanceof PortInUseError) {
      const by = err.holder ? ` by pid ${err.holder.pid} (${err.holder.command})` : '';
      return {
        available: false,
        reason: `port ${port} on ${host} is in use${by}`,
        ...(err.holder ? { holder: err.holder } : {}),
      };
    }
    return { available: false, reason: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * Checks `port` on `host` (which must be local: see {@link isLocalAddress}) against running
 * processes and the configured instances on this machine (except `excludeId`, the one being
 * edited), and suggests the next port that is free of both.
 *
 * @example
 * await portAvailability({ host: '127.0.0.1', port: 8188, instances: registry.list() });
 * // { port: 8188, host: '127.0.0.1', available: false, holder: { pid: 4242, command: 'python main.py' }, suggested: 8189, ... }
 */
export async function portAvailability(options: {
  host: string;
  port: number;
  instances: readonly InstanceView[];
  excludeId?: string;
}): Promise<PortAvailability> {
  const { host, port } = options;
  const taken = new Map<number, InstanceView>();
  for (const view of options.instances) {
    if (view.id === options.excludeId || !isLocalHost(view.host)) continue;
    if (!taken.has(view.port)) taken.set(view.port, view);
  }
  const usedBy = taken.get(port);
  const first = await probe(host, port);
  const answer: PortAvailability = {
    port,
    host,
    available: first.available && !usedBy,
    reason:
      first.reason ??
      (usedBy ? `port ${port} is configured for instance '${usedBy.name}' on this machine` : null),
    ...(first.holder ? { holder: first.holder } : {}),
    ...(usedBy ? { used_by: { id: usedBy.id, name: usedBy.name } } : {}),
    suggested: null,
  };
  if (answer.available) return { ...answer, suggested: port };
  const last = Math.min(65_535, port + SUGGEST_RANGE);
  for (let candidate = port + 1; candidate <= last; candidate++) {
    if (taken.has(candidate)) continue;
    if ((await probe(host, candidate)).available) return { ...answer, suggested: candidate };
  }
  return answer;
}
