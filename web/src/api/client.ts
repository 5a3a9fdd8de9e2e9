import { apiUrl, authHeaders, request, withQuery } from './http.js';
import type {
  ConfigWarning,
  ConnectionTestResult,
  HealthSample,
  InstanceCreate,
  InstanceDetail,
  InstanceUpdate,
  InstanceView,
  JobAccepted,
  JobList,
  JobStatus,
  JobView,
  PortAvailability,
  TemplateView,
} from './types.js';

const V1 = '/api/v1';

/**
 * The array a list route answers with: the body itself, or the array under `key` (routes wrap
 * lists in an object so they can grow fields such as a cursor).
 *
 * @example
 * listOf<InstanceView>({ instances: [a, b] }, 'instances'); // [a, b]
 */
export function listOf<T>(body: unknown, key: string): T[] {
  if (Array.isArray(body)) return body as T[];
  if (body && typeof body === 'object') {
    const v = (body as Record<string, unknown>)[key];
    if (Array.isArray(v)) return v as T[];
    const items = (body as Record<string, unknown>).items;
    if (Array.isArray(items)) return items as T[];
  }
  return [];
}

/** The object under `key` when the route wraps it (`{ instance: {...} }`), else the body. */
export function itemOf<T>(body: unknown, key: string): T {
  if (body && typeof body === 'object' && key in body) {
    return (body as Record<string, unknown>)[key] as T;
  }
  return body as T;
}

const enc = encodeURIComponent;

export type InstanceAction = 'start' | 'stop' | 'pause' | 'resume';

/** GET /api/v1/instances/{id}/logs: each line "<ISO time> <stdout|stderr|supervisor> <text>". */
export interface InstanceLogs {
  instance_id: string;
  name: string;
  lines: string[];
}

export interface JobQuery {
  status?: readonly JobStatus[];
  instance?: string;
  owner?: string;
  template?: string;
  cursor?: string | null;
  limit?: number;
}

/**
 * Typed calls of the gateway's REST API (mirrors src/api/routes). Every call rejects with an
 * ApiRequestError whose message can be shown as is.
 *
 * @example
 * const instances = await api.instances.list();
 * await api.instances.action('gpu1', 'pause');
 */
export const api = {
  instances: {
    async list(signal?: AbortSignal): Promise<InstanceView[]> {
      return listOf<InstanceView>(
        await request(`${V1}/instances`, signal ? { signal } : {}),
        'instances',
      );
    },
    async get(id: string): Promise<InstanceDetail> {
      return request<InstanceDetail>(`${V1}/instances/${enc(id)}`);
    },
    async create(body: InstanceCreate): Promise<InstanceView> {
      return itemOf<InstanceView>(
        await request(`${V1}/instances`, { method: 'POST', body }),
        'instance',
      );
    },
    async update(id: string, body: InstanceUpdate): Promise<InstanceView> {
      return itemOf<InstanceView>(
        await request(`${V1}/instances/${enc(id)}`, { method: 'PATCH', body }),
        'instance',
      );
    },
    async remove(id: string): Promise<void> {
      await request(`${V1}/instances/${enc(id)}`, { method: 'DELETE' });
    },
    async action(id: string, action: InstanceAction): Promise<InstanceView> {
      return itemOf<InstanceView>(
        await request(`${V1}/instances/${enc(id)}/${action}`, { method: 'POST' }),
        'instance',
      );
    },
    async activate(id: string | null): Promise<void> {
      await request(`${V1}/instances/active`, { method: 'PUT', body: { id } });
    },
    /** Test a saved instance. */
    async test(id: string): Promise<ConnectionTestResult> {
      return itemOf<ConnectionTestResult>(
        await request(`${V1}/instances/${enc(id)}/test`, { method: 'POST' }),
        'result',
      );
    },
    /**
     * Test settings that are not saved yet (the editor's "Test connection"). `credentialsOf`:
     * a saved instance whose stored credentials the gateway uses when `body` has no `auth`.
     */
    async testConfig(
      body: InstanceCreate,
      options: { credentialsOf?: string } = {},
    ): Promise<ConnectionTestResult> {
      return itemOf<ConnectionTestResult>(
        await request(`${V1}/instances/test`, {
          method: 'POST',
          body,
          query: { credentials_of: options.credentialsOf },
        }),
        'result',
      );
    },
    /** Stored health samples since `fromMs`, oldest first. */
    async healthHistory(id: string, fromMs: number): Promise<HealthSample[]> {
      return listOf<HealthSample>(
        await request(`${V1}/instances/${enc(id)}/health`, {
          query: { from: new Date(fromMs).toISOString() },
        }),
        'samples',
      );
    },
    /**
     * Whether a port is free on the gateway host (for a managed instance listening on `host`),
     * who holds it, and a suggested free one. `exclude`: the instance being edited.
     */
    async portCheck(
      port: number,
      options: { host?: string; exclude?: string } = {},
    ): Promise<PortAvailability> {
      return request<PortAvailability>(`${V1}/instances/ports`, {
        query: { port, host: options.host, exclude: options.exclude },
      });
    },
    /**
     * The last `lines` lines a managed instance printed (oldest first). A remote instance
     * answers 409 `not_managed`.
     */
    async logs(id: string, lines = 200, signal?: AbortSignal): Promise<InstanceLogs> {
      return request<InstanceLogs>(`${V1}/instances/${enc(id)}/logs`, {
        query: { lines },
        ...(signal ? { signal } : {}),
      });
    },
  },
  config: {
    async warnings(): Promise<ConfigWarning[]> {
      return listOf<ConfigWarning>(await request(`${V1}/config/warnings`), 'warnings');
    },
  },
  jobs: {
    async list(q: JobQuery = {}, signal?: AbortSignal): Promise<JobList> {
      const body = await request<unknown>(`${V1}/jobs`, {
        query: {
          // One comma-separated parameter (ListQuery.status), not repeated keys.
          status: q.status && q.status.length > 0 ? q.status.join(',') : undefined,
          instance: q.instance,
          owner: q.owner,
          template: q.template,
          cursor: q.cursor,
          limit: q.limit,
        },
        ...(signal ? { signal } : {}),
      });
      const next =
        body && typeof body === 'object' && 'next_cursor' in body
          ? ((body as { next_cursor: string | null }).next_cursor ?? null)
          : null;
      return { jobs: listOf<JobView>(body, 'jobs'), next_cursor: next };
    },
    async get(id: string): Promise<JobView> {
      return itemOf<JobView>(await request(`${V1}/jobs/${enc(id)}`), 'job');
    },
    async submit(body: Record<string, unknown> | FormData): Promise<JobAccepted> {
      return request<JobAccepted>(`${V1}/jobs`, { method: 'POST', body });
    },
    async cancel(id: string): Promise<void> {
      await request(`${V1}/jobs/${enc(id)}/cancel`, { method: 'POST' });
    },
    async retry(id: string): Promise<JobAccepted> {
      return request<JobAccepted>(`${V1}/jobs/${enc(id)}/retry`, { method: 'POST' });
    },
    /** URL of output `n` (for <img src> and download links; the key travels as a query token). */
    outputUrl(id: string, n: number, download = false): string {
      const key = authHeaders().authorization?.slice('Bearer '.length);
      return apiUrl(
        withQuery(`${V1}/jobs/${enc(id)}/outputs/${n}`, {
          access_token: key,
          download: download ? 1 : undefined,
        }),
      );
    },
  },
  templates: {
    async list(): Promise<TemplateView[]> {
      return listOf<TemplateView>(await request(`${V1}/templates`), 'templates');
    },
  },
  metrics: {
    /** The overview figures, when the gateway offers them as JSON. */
    async overview(): Promise<Record<string, unknown>> {
      return request<Record<string, unknown>>(`${V1}/overview`);
    },
  },
};
