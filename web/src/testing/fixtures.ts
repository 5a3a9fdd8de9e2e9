import type { InstanceView } from '../api/index.js';

/**
 * An instance as GET /api/v1/instances lists it, with test defaults (remote, running, not
 * active, no health word) and any field overridden.
 *
 * @example
 * const box = instanceView('a', { tags: ['sdxl'], health: 'degraded' });
 */
export function instanceView(id: string, over: Partial<InstanceView> = {}): InstanceView {
  return {
    id,
    name: id,
    description: '',
    host: '127.0.0.1',
    port: 8188,
    tls: false,
    auth: null,
    kind: 'remote',
    gpu_device: null,
    env_vars: {},
    custom_nodes_path: null,
    max_concurrent: 1,
    prefetch: 1,
    timeout_ms: 300000,
    priority: 1,
    tags: [],
    enabled: true,
    auto_start: false,
    path_map: [],
    created_at: '',
    last_used_at: null,
    source: 'api',
    status: 'running',
    status_reason: null,
    active: false,
    origin: null,
    ...over,
  };
}
