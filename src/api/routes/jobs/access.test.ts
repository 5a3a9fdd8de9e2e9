import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../../testing/harness.js';
import { emptySave, type JobHarness, jobHarness } from './testing.js';

/** Roles, ownership, cancel and retry, templates CRUD and run, against a slow instance. */
describe('jobs API: roles, cancel, retry, templates', () => {
  let h: JobHarness;
  let admin = '';
  let alice = '';
  let bob = '';
  const as = (key: string) => ({ authorization: `Bearer ${key}` });

  beforeAll(async () => {
    h = await jobHarness();
    admin = (await h.keys.create({ role: 'admin', name: 'root' })).key;
    alice = (await h.keys.create({ role: 'user', name: 'alice' })).key;
    bob = (await h.keys.create({ role: 'user', name: 'bob' })).key;
  });
  afterAll(async () => {
    await h?.close();
  });

  it('needs a key (401), keeps users to their own jobs (404), admins see all', async () => {
    const none = await h.app.inject({
      method: 'POST',
      url: '/api/v1/jobs',
      payload: { workflow: emptySave() },
    });
    expect(none.statusCode).toBe(401);
    expect(none.json().error.code).toBe('unauthorized');
    const wrong = await h.app.inject({ url: '/api/v1/jobs', headers: as('cck_not-a-key') });
    expect(wrong.statusCode).toBe(401);

    const mine = await h.app.inject({
      method: 'POST',
      url: '/api/v1/jobs?wait=true',
      headers: as(alice),
      payload: { workflow: emptySave('alice'), owner: 'someone-else' },
    });
    expect(mine.statusCode).toBe(200);
    const job = mine.json();
    expect(job.owner).not.toBe('someone-else');

    expect(
      (await h.app.inject({ url: `/api/v1/jobs/${job.id}`, headers: as(alice) })).statusCode,
    ).toBe(200);
    const other = await h.app.inject({ url: `/api/v1/jobs/${job.id}`, headers: as(bob) });
    expect(other.statusCode).toBe(404);
    expect(other.json().error.code).toBe('not_found');
    for (const url of [`/api/v1/jobs/${job.id}/outputs/0`, `/api/v1/jobs/${job.id}/events`]) {
      expect((await h.app.inject({ url, headers: as(bob) })).statusCode).toBe(404);
    }
    expect(
      (
        await h.app.inject({
          method: 'POST',
          url: `/api/v1/jobs/${job.id}/retry`,
          headers: as(bob),
        })
      ).statusCode,
    ).toBe(404);
    // The output may be fetched with ?access_token= (img src in the dashboard).
    expect(
      (await h.app.inject({ url: `/api/v1/jobs/${job.id}/outputs/0?access_token=${alice}` }))
        .statusCode,
    ).toBe(200);

    const bobs = (await h.app.inject({ url: '/api/v1/jobs', headers: as(bob) })).json();
    expect(bobs.jobs).toEqual([]);
    const alices = (
      await h.app.inject({ url: `/api/v1/jobs?owner=anyone`, headers: as(alice) })
    ).json();
    expect(alices.jobs.map((j: { id: string }) => j.id)).toEqual([job.id]);
    const all = (await h.app.inject({ url: '/api/v1/jobs', headers: as(admin) })).json();
    expect(all.jobs.map((j: { id: string }) => j.id)).toContain(job.id);
  });

  it('cancels a running job, refuses a second cancel (409), retries it as a new job', async () => {
    h.emulators[0]?.setSpeed(0.001);
    try {
      const r = await h.app.inject({
        method: 'POST',
        url: '/api/v1/jobs',
        headers: as(alice),
        payload: { workflow: emptySave('slow') },
      });
      const id = r.json().job_id;
      await until(
        async () =>
          (await h.app.inject({ url: `/api/v1/jobs/${id}`, headers: as(alice) })).json().status ===
          'processing',
        5_000,
        'job processing',
      );
      const c = await h.app.inject({
        method: 'POST',
        url: `/api/v1/jobs/${id}/cancel`,
        headers: as(alice),
      });
      expect(c.statusCode).toBe(202);
      expect(c.json().job_id).toBe(id);
      await until(
        async () =>
          (await h.app.inject({ url: `/api/v1/jobs/${id}`, headers: as(alice) })).json().status ===
          'cancelled',
        5_000,
        'job cancelled',
      );
      const again = await h.app.inject({
        method: 'POST',
        url: `/api/v1/jobs/${id}/cancel`,
        headers: as(alice),
      });
      expect(again.statusCode).toBe(409);
      expect(again.json().error.code).toBe('invalid_state');

      h.emulators[0]?.setSpeed(Number.POSITIVE_INFINITY);
      const retry = await h.app.inject({
        method: 'POST',
        url: `/api/v1/jobs/${id}/retry`,
        headers: as(alice),
      });
      expect(retry.statusCode).toBe(202);
      const next = retry.json();
      expect(next.job_id).not.toBe(id);
      expect(next.retry_of).toBe(id);
      await until(
        async () =>
          (await h.app.inject({ url: `/api/v1/jobs/${next.job_id}`, headers: as(alice) })).json()
            .status === 'completed',
        5_000,
        'retry completed',
      );
      const done = await h.app.inject({
        method: 'POST',
        url: `/api/v1/jobs/${next.job_id}/retry`,
        headers: as(alice),
      });
      expect(done.statusCode).toBe(409);
    } finally {
      h.emulators[0]?.setSpeed(Number.POSITIVE_INFINITY);
    }
  });

  it('templates: users list, get and run; only admins create, replace and delete', async () => {
    const list = await h.app.inject({ url: '/api/v1/templates', headers: as(alice) });
    expect(list.statusCode).toBe(200);
    expect(list.json().templates.map((t: { name: string }) => t.name)).toContain('upscale-image');
    expect(
      (await h.app.inject({ url: '/api/v1/templates/upscale-image', headers: as(alice) })).json()
        .parameters.scale.default,
    ).toBe(2);
    expect(
      (await h.app.inject({ url: '/api/v1/templates/nope', headers: as(alice) })).statusCode,
    ).toBe(404);

    const def = {
      name: 'solid',
      description: 'a solid square',
      workflow: emptySave('solid'),
      parameters: {
        size: { node: '1', input: 'width', type: 'integer', default: 16, min: 1, max: 64 },
      },
    };
    const forbidden = await h.app.inject({
      method: 'POST',
      url: '/api/v1/templates',
      headers: as(alice),
      payload: def,
    });
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json().error.code).toBe('forbidden');
    const created = await h.app.inject({
      method: 'POST',
      url: '/api/v1/templates',
      headers: as(admin),
      payload: def,
    });
    expect(created.statusCode).toBe(201);
    expect(created.json().source).toBe('api');
    expect(
      (
        await h.app.inject({
          method: 'POST',
          url: '/api/v1/templates',
          headers: as(admin),
          payload: def,
        })
      ).statusCode,
    ).toBe(409);
    const replaced = await h.app.inject({
      method: 'PUT',
      url: '/api/v1/templates/solid',
      headers: as(admin),
      payload: { ...def, description: 'changed' },
    });
    expect(replaced.statusCode).toBe(200);
    expect(replaced.json().description).toBe('changed');
    const badDef = await h.app.inject({
      method: 'PUT',
      url: '/api/v1/templates/broken',
      headers: as(admin),
      payload: {
        workflow: emptySave(),
        parameters: { x: { node: '99', input: 'nope', type: 'integer' } },
      },
    });
    expect(badDef.statusCode).toBe(400);
    const wrongType = await h.app.inject({
      method: 'POST',
      url: '/api/v1/templates',
      headers: as(admin),
      payload: { name: 5 },
    });
    expect(wrongType.statusCode).toBe(400);
    expect(wrongType.json().error.code).toBe('validation_failed');

    const run = await h.app.inject({
      method: 'POST',
      url: '/api/v1/templates/solid/run',
      headers: as(alice),
      payload: { params: { size: 8 } },
    });
    expect(run.statusCode).toBe(202);
    const jobId = run.json().job_id;
    await until(
      async () =>
        (await h.app.inject({ url: `/api/v1/jobs/${jobId}`, headers: as(alice) })).json().status ===
        'completed',
      5_000,
      'template job completed',
    );
    const job = (await h.app.inject({ url: `/api/v1/jobs/${jobId}`, headers: as(alice) })).json();
    expect(job.template).toEqual({ name: 'solid', params: { size: 8 } });
    expect(job.workflow['1'].inputs.width).toBe(8);
    const badParam = await h.app.inject({
      method: 'POST',
      url: '/api/v1/templates/solid/run',
      headers: as(alice),
      payload: { params: { size: 'big' } },
    });
    expect(badParam.statusCode).toBe(400);
    expect(
      (
        await h.app.inject({
          method: 'POST',
          url: '/api/v1/templates/nope/run',
          headers: as(alice),
          payload: {},
        })
      ).statusCode,
    ).toBe(404);

    expect(
      (await h.app.inject({ method: 'DELETE', url: '/api/v1/templates/solid', headers: as(alice) }))
        .statusCode,
    ).toBe(403);
    expect(
      (await h.app.inject({ method: 'DELETE', url: '/api/v1/templates/solid', headers: as(admin) }))
        .statusCode,
    ).toBe(204);
    expect(
      (await h.app.inject({ method: 'DELETE', url: '/api/v1/templates/solid', headers: as(admin) }))
        .statusCode,
    ).toBe(404);
  });
});
