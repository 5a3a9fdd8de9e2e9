/**
 * The SDK's wire types against a live gateway: every answer must match its schema exactly (no
 * unknown field: the server added one) and carry every field the schema names, optional ones
 * included, unless listed as legitimately absent in that answer (the server dropped one).
 */
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { txt2img } from '../scheduler/dispatch/testing/workflows.js';
import {
  AcceptedSchema,
  ApiKeyViewSchema,
  ClusterEventSchema,
  ConnectionTestResultSchema,
  CreatedApiKeySchema,
  ErrorBodySchema,
  GatewayHealthSchema,
  ImportSummarySchema,
  InstanceDetailSchema,
  InstanceViewSchema,
  JobEventSchema,
  JobListSchema,
  JobOutputSchema,
  JobViewSchema,
  TemplateViewSchema,
} from './schemas.js';
import { sseMessages } from './sse.js';
import { type LiveGateway, liveGateway } from './testing/live-gateway.js';

let gw: LiveGateway;

beforeAll(async () => {
  gw = await liveGateway({ emulators: 1 });
});

afterAll(async () => {
  await gw?.close();
});

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Fields the schema names that `value` lacks, as paths (`jobs[].outputs`, `parameters{}.min`),
 * except those matching `absent` (globs: `*` is any run of characters).
 */
function missingFields(schema: TSchema, value: unknown, absent: string[] = []): string[] {
  const allowed = absent.map(
    (g) => new RegExp(`^${g.replace(/[.[\]{}]/g, '\\$&').replace(/\*/g, '.*')}$`),
  );
  const out: string[] = [];
  const walk = (s: unknown, v: unknown, at: string) => {
    if (!isObject(s)) return;
    if (Array.isArray(s.anyOf)) {
      const branch = (s.anyOf as TSchema[]).find((b) => Value.Check(b, v));
      walk(branch, v, at);
      return;
    }
    if (Array.isArray(v) && isObject(s.items)) {
      for (const item of v) walk(s.items, item, `${at}[]`);
      return;
    }
    if (!isObject(v)) return;
    if (isObject(s.properties)) {
      for (const [key, sub] of Object.entries(s.properties)) {
        const path = at === '' ? key : `${at}.${key}`;
        if (!(key in v)) {
          if (!allowed.some((r) => r.test(path))) out.push(path);
          continue;
        }
        walk(sub, v[key], path);
      }
    }
    if (isObject(s.patternProperties)) {
      const sub = Object.values(s.patternProperties)[0];
      for (const item of Object.values(v)) walk(sub, item, `${at}{}`);
    }
  };
  walk(schema, value, '');
  return out;
}

/** Asserts `value` matches `schema` exactly and lacks no field but the `absent` ones. */
function conforms(schema: TSchema, value: unknown, absent: string[] = []): void {
  const errors = [...Value.Errors(schema, value)].slice(0, 5).map((e) => JSON.stringify(e));
  expect(errors, 'schema errors').toEqual([]);
  expect(
    missingFields(schema, value, absent),
    'fields the schema names but the answer lacks',
  ).toEqual([]);
}

async function call(path: string, init: RequestInit = {}): Promise<{ status: number; body: Json }> {
  const headers = new Headers(init.headers);
  if (init.body !== undefined) headers.set('content-type', 'application/json');
  const res = await fetch(`${gw.url}${path}`, { ...init, headers });
  return { status: res.status, body: (await res.json()) as Json };
}

const post = (path: string, body?: unknown) =>
  call(path, { method: 'POST', ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

/** A template parameter shows only the optional fields it was defined with. */
const TEMPLATE_OPTIONALS = ['parameters{}.*', 'variants[].description'];
/** List items and submit/retry answers have no outputs or webhook (GET /jobs/{id} has). */
const JOB_WITHOUT_DETAIL = ['outputs', 'webhook'];

describe('wire conformance (live gateway)', () => {
  it('the checker fails on a field added or removed', () => {
    const job = {
      ...{ id: 'j', status: 'pending', phase: null, priority: 0, owner: null, pin: null },
      ...{ tags: [], template: null, attempts: 0, instance_id: null, progress: null, error: null },
      ...{ retry_of: null, created_at: 'x', started_at: null, completed_at: null },
      processing_time_ms: null,
    };
    expect(Value.Check(JobViewSchema, job)).toBe(true);
    expect(Value.Check(JobViewSchema, { ...job, surprise: 1 })).toBe(false);
    expect(missingFields(JobViewSchema, job)).toContain('seq');
    const { attempts: _a, ...without } = job;
    expect(Value.Check(JobViewSchema, without)).toBe(false);
    // Nested, through a nullable object and an array.
    const nested = {
      ...job,
      progress: { percent: 1, node: null, step: null, steps: null },
      outputs: [{ index: 0, node_id: '2', output_key: 'images', kind: 'file', filename: 'a.png' }],
    };
    expect(missingFields(JobViewSchema, nested)).toEqual(
      expect.arrayContaining(['progress.updated_at', 'outputs[].sha256', 'outputs[].mime']),
    );
    expect(Value.Check(JobViewSchema, { ...nested, progress: { ...nested.progress, x: 1 } })).toBe(
      false,
    );
  });

  it('health, instances, instance detail, connection test', async () => {
    const health = await call('/health');
    expect(health.status).toBe(200);
    conforms(GatewayHealthSchema, health.body);
    const list = await call('/api/v1/instances');
    const items = list.body.instances as unknown[];
    expect(items).toHaveLength(1);
    for (const item of items) conforms(InstanceViewSchema, item);
    const id = gw.ids[0] ?? '';
    const detail = await call(`/api/v1/instances/${id}`);
    conforms(InstanceDetailSchema, detail.body);
    expect(detail.body.report).not.toBeNull();
    const test = await post(`/api/v1/instances/${id}/test`);
    conforms(ConnectionTestResultSchema, test.body.result);
    const summary = await post('/api/v1/instances/import?mode=merge', {
      version: '2.0',
      instances: [],
    });
    conforms(ImportSummarySchema, summary.body);
  });

  it('jobs: accepted, detail with outputs, list, events, cancel, retry, errors', async () => {
    gw.emulators[0]?.setSpeed(1);
    try {
      const accepted = await post('/api/v1/jobs', {
        workflow: txt2img({ steps: 12, size: 512 }),
        metadata: { from: 'conformance' },
      });
      expect(accepted.status).toBe(202);
      conforms(AcceptedSchema, accepted.body, [
        'cancel_requested',
        'retry_of',
        ...JOB_WITHOUT_DETAIL.map((f) => `job.${f}`),
      ]);
      const id = accepted.body.job_id as string;

      const res = await fetch(`${gw.url}/api/v1/jobs/${id}/events`);
      const types = new Set<string>();
      for await (const m of sseMessages(res.body as ReadableStream<Uint8Array>)) {
        const event = JSON.parse(m.data) as { type: string };
        conforms(JobEventSchema, event, ['data.*']);
        types.add(event.type);
      }
      expect([...types]).toEqual(
        expect.arrayContaining(['job.created', 'job.status', 'job.progress']),
      );

      const detail = await call(`/api/v1/jobs/${id}`);
      expect(detail.body.status).toBe('completed');
      conforms(JobViewSchema, detail.body);

      const list = await call('/api/v1/jobs?limit=5');
      conforms(
        JobListSchema,
        list.body,
        JOB_WITHOUT_DETAIL.map((f) => `jobs[].${f}`),
      );

      gw.emulators[0]?.setFaults({
        nodeErrors: { SaveImage: { exception_type: 'OSError', exception_message: 'full' } },
      });
      const failing = await post('/api/v1/jobs?wait=true', {
        workflow: txt2img({ steps: 1, size: 64 }),
      });
      expect(failing.body.status).toBe('failed');
      conforms(JobViewSchema, failing.body);
      gw.emulators[0]?.clearFaults();

      const retried = await post(`/api/v1/jobs/${failing.body.id as string}/retry`);
      expect(retried.status).toBe(202);
      conforms(AcceptedSchema, retried.body, [
        'cancel_requested',
        ...JOB_WITHOUT_DETAIL.map((f) => `job.${f}`),
      ]);
      const cancelled = await post(`/api/v1/jobs/${retried.body.job_id as string}/cancel`);
      expect(cancelled.status).toBe(202);
      conforms(AcceptedSchema, cancelled.body, ['retry_of', 'job']);

      const missing = await call('/api/v1/jobs/nope');
      expect(missing.status).toBe(404);
      conforms(ErrorBodySchema, missing.body);
    } finally {
      gw.emulators[0]?.setSpeed(Number.POSITIVE_INFINITY);
      gw.emulators[0]?.clearFaults();
    }
  });

  it('fleet events: envelopes, and the job views job events carry', async () => {
    const controller = new AbortController();
    const res = await fetch(`${gw.url}/api/v1/events?types=job.*`, {
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    const submitted = await post('/api/v1/jobs', {
      workflow: {
        '1': { class_type: 'EmptyImage', inputs: { width: 8, height: 8, batch_size: 1, color: 1 } },
        '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'fleet' } },
      },
    });
    const id = submitted.body.job_id as string;
    const seen: string[] = [];
    try {
      for await (const m of sseMessages(res.body as ReadableStream<Uint8Array>)) {
        const event = JSON.parse(m.data) as { type: string; data: Json };
        conforms(ClusterEventSchema, event);
        const job = event.data.job as Json | undefined;
        if (job?.id !== id) continue;
        seen.push(event.type);
        conforms(JobViewSchema, job, JOB_WITHOUT_DETAIL);
        if (event.type === 'job.completed') {
          for (const o of event.data.outputs as unknown[]) conforms(JobOutputSchema, o);
          break;
        }
      }
    } finally {
      controller.abort();
    }
    expect(seen[0]).toBe('job.created');
    expect(seen.at(-1)).toBe('job.completed');
  });

  it('templates and API keys', async () => {
    const list = await call('/api/v1/templates');
    const templates = list.body.templates as unknown[];
    expect(templates.length).toBeGreaterThan(0);
    for (const t of templates) conforms(TemplateViewSchema, t, TEMPLATE_OPTIONALS);
    const one = await call('/api/v1/templates/upscale-image');
    conforms(TemplateViewSchema, one.body, TEMPLATE_OPTIONALS);

    const created = await post('/api/v1/keys', { name: 'wire', role: 'admin' });
    expect(created.status).toBe(201);
    conforms(CreatedApiKeySchema, created.body);
    const key = created.body.key as string;
    try {
      const keys = await call('/api/v1/keys', { headers: { authorization: `Bearer ${key}` } });
      for (const k of keys.body.keys as unknown[]) conforms(ApiKeyViewSchema, k);
    } finally {
      await gw.keys.revoke(created.body.id as string);
    }
  });
});
