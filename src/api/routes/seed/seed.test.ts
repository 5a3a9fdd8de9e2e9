import { PNG } from 'pngjs';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../testing/harness.js';
import { type JobHarness, jobHarness } from '../jobs/testing.js';

function png(size = 8): Buffer {
  const img = new PNG({ width: size, height: size });
  img.data.fill(120);
  return PNG.sync.write(img);
}

async function multipart(
  form: FormData,
): Promise<{ payload: Buffer; headers: Record<string, string> }> {
  const res = new Response(form);
  return {
    payload: Buffer.from(await res.arrayBuffer()),
    headers: { 'content-type': res.headers.get('content-type') ?? '' },
  };
}

describe("the seed's async routes", () => {
  let h: JobHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });
  const image = png();

  it('upscale-image: 202 {job_id, status, estimated_completion_seconds}; status; result as a data URL', async () => {
    h = await jobHarness();
    const app = h.app;
    const res = await app.inject({
      method: 'POST',
      url: '/api/upscale-image',
      payload: { image: image.toString('base64') },
    });
    expect(res.statusCode).toBe(202);
    const body = res.json();
    expect(Object.keys(body).sort()).toEqual(['estimated_completion_seconds', 'job_id', 'status']);
    expect(body.status).toBe('pending');
    await until(
      async () =>
        (await app.inject({ url: `/api/jobs/${body.job_id}/status` })).json().status ===
        'completed',
      5_000,
      'completed',
    );
    const status = (await app.inject({ url: `/api/jobs/${body.job_id}/status` })).json();
    expect(Object.keys(status).sort()).toEqual([
      'comfyui_instance',
      'job_id',
      'processing_time_ms',
      'progress',
      'status',
    ]);
    expect(status.progress).toBe(100);
    expect(status.comfyui_instance).toBe(`127.0.0.1:${h.emulators[0]?.port}`);
    const result = (await app.inject({ url: `/api/jobs/${body.job_id}/result` })).json();
    expect(Object.keys(result).sort()).toEqual([
      'comfyui_instance',
      'image_base64',
      'job_id',
      'processing_time_ms',
      'status',
    ]);
    expect(result.status).toBe('completed');
    expect(result.image_base64).toMatch(/^data:image\/png;base64,iVBORw0KGgo/);
    const out = PNG.sync.read(Buffer.from(result.image_base64.split(',')[1], 'base64'));
    expect(out.width).toBe(16); // scale 2 by default

    // Multipart, with a scale.
    const form = new FormData();
    form.set('image', new Blob([image], { type: 'image/png' }), 'photo.png');
    form.set('scale', '3');
    const m = await app.inject({
      method: 'POST',
      url: '/api/upscale-image',
      ...(await multipart(form)),
    });
    expect(m.statusCode).toBe(202);
    const id = m.json().job_id;
    await until(
      async () =>
        (await app.inject({ url: `/api/jobs/${id}/status` })).json().status === 'completed',
      5_000,
      'multipart completed',
    );
    const r2 = (await app.inject({ url: `/api/jobs/${id}/result` })).json();
    expect(PNG.sync.read(Buffer.from(r2.image_base64.split(',')[1], 'base64')).width).toBe(24);
  });

  it('upscale-image with a model uses it (x4); a model no instance has is 503', async () => {
    h = await jobHarness(); // the emulator has RealESRGAN_x4plus.pth
    const none = await h.app.inject({
      method: 'POST',
      url: '/api/upscale-image',
      payload: { image: image.toString('base64'), model: 'NoSuchModel.pth' },
    });
    expect(none.statusCode).toBe(503);
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/upscale-image',
      payload: { image: image.toString('base64'), model: 'RealESRGAN_x4plus.pth' },
    });
    expect(res.statusCode).toBe(202);
    const id = res.json().job_id;
    await until(
      async () =>
        (await h?.app.inject({ url: `/api/jobs/${id}/status` }))?.json().status === 'completed',
      5_000,
      'completed',
    );
    const result = (await h.app.inject({ url: `/api/jobs/${id}/result` })).json();
    expect(PNG.sync.read(Buffer.from(result.image_base64.split(',')[1], 'base64')).width).toBe(32);
  });

  it('result is 409 while the job is not completed; bad input is 400; unknown ids 404', async () => {
    h = await jobHarness();
    h.emulators[0]?.setSpeed(0.0005);
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/upscale-image',
      payload: { image: `data:image/png;base64,${image.toString('base64')}` },
    });
    const id = res.json().job_id;
    const early = await h.app.inject({ url: `/api/jobs/${id}/result` });
    expect(early.statusCode).toBe(409);
    expect(early.json().error.code).toBe('invalid_state');
    expect(['pending', 'processing']).toContain(early.json().error.details.status);
    const status = (await h.app.inject({ url: `/api/jobs/${id}/status` })).json();
    expect(['pending', 'processing']).toContain(status.status);
    expect(status.progress).toBeGreaterThanOrEqual(0);
    h.emulators[0]?.setSpeed(Number.POSITIVE_INFINITY);

    for (const payload of [{}, { image: 42 }, { image: '' }, { image: '!!!not base64!!!' }]) {
      const bad = await h.app.inject({ method: 'POST', url: '/api/upscale-image', payload });
      expect(bad.statusCode).toBe(400);
      expect(typeof bad.json().error.code).toBe('string');
    }
    const malformed = await h.app.inject({
      method: 'POST',
      url: '/api/remove-background',
      headers: { 'content-type': 'application/json' },
      payload: '{"image":',
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error.code).toBe('invalid_json');
    expect((await h.app.inject({ url: '/api/jobs/nope/status' })).statusCode).toBe(404);
    expect((await h.app.inject({ url: '/api/jobs/nope/result' })).statusCode).toBe(404);
  });

  it('remove-background: 503 naming the node with no instance that has it; runs where it is', async () => {
    h = await jobHarness();
    const none = await h.app.inject({
      method: 'POST',
      url: '/api/remove-background',
      payload: { image: image.toString('base64') },
    });
    expect(none.statusCode).toBe(503);
    expect(none.json().error.message).toContain('InspyrenetRembg');
    await h.close();

    h = await jobHarness({ extra: [{ nodePacks: ['remove-background'] }] });
    const ok = await h.app.inject({
      method: 'POST',
      url: '/api/remove-background',
      payload: { image: image.toString('base64') },
    });
    expect(ok.statusCode).toBe(202);
    const id = ok.json().job_id;
    await until(
      async () =>
        (await h?.app.inject({ url: `/api/jobs/${id}/status` }))?.json().status === 'completed',
      5_000,
      'completed',
    );
    const status = (await h.app.inject({ url: `/api/jobs/${id}/status` })).json();
    expect(status.comfyui_instance).toBe(`127.0.0.1:${h.emulators[1]?.port}`);
    const result = (await h.app.inject({ url: `/api/jobs/${id}/result` })).json();
    const out = PNG.sync.read(Buffer.from(result.image_base64.split(',')[1], 'base64'));
    expect(out.width).toBe(8);
  });
});
