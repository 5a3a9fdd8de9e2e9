/**
 * The dispatch path end to end against emulated ComfyUI servers on 127.0.0.1: a real SQLite
 * store in a temp dir, the real registry and health monitor, the dispatcher and the job service.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterEach, describe, expect, it } from 'vitest';
import { type EmulatorOptions, type RunningEmulator, startEmulator } from '../../emulator/index.js';
import { type Job, WorkflowRejectedError } from '../../jobs/index.js';
import { type Gateway, type GatewayInstance, openGateway } from './testing/gateway.js';
import { emptySave, txt2img } from './testing/workflows.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function emulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const emu = await startEmulator({ port: 0, speed: Number.POSITIVE_INFINITY, ...options });
  cleanups.push(() => emu.close());
  return emu;
}

async function gateway(
  emus: RunningEmulator[],
  extra: Partial<GatewayInstance>[] = [],
  options: Partial<Parameters<typeof openGateway>[0]> = {},
): Promise<Gateway> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cc-dispatch-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const gw = await openGateway({
    dir,
    instances: emus.map((e, i) => ({ name: `emu${i}`, port: e.port, ...extra[i] })),
    ...options,
  });
  cleanups.push(() => gw.close());
  await gw.ready();
  return gw;
}

async function finished(gw: Gateway, id: string, limitMs = 10_000): Promise<Job> {
  const job = await gw.service.wait(id, { timeoutMs: limitMs });
  if (!job) throw new Error(`job ${id} vanished`);
  return job;
}

async function until(predicate: () => boolean | Promise<boolean>, limitMs: number, what: string) {
  const deadline = Date.now() + limitMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('Dispatcher + JobService', () => {
  it.each(['round_robin', 'least_loaded', 'fastest_completion'] as const)(
    '%s spreads jobs over the instances, never more than max_concurrent + prefetch on one',
    async (strategy) => {
      const emus = await Promise.all(
        [0, 1, 2].map(() => emulator({ speed: 1, nodeDurations: { EmptyImage: 150 } })),
      );
      const gw = await gateway(emus, [], { scheduler: { strategy } });
      const onInstance = new Map<string, Set<string>>();
      let worst = 0;
      gw.bus.subscribe('*', (e) => {
        if (!('job' in (e.payload as object))) return;
        const job = (e.payload as { job: Job }).job;
        for (const set of onInstance.values()) set.delete(job.id);
        if (job.status === 'processing' && job.instance_id) {
          const set = onInstance.get(job.instance_id) ?? new Set();
          set.add(job.id);
          onInstance.set(job.instance_id, set);
          worst = Math.max(worst, set.size);
        }
      });
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) {
        ids.push((await gw.service.submit({ workflow: emptySave({ prefix: `s${i}` }) })).job.id);
      }
      const jobs = await Promise.all(ids.map((id) => finished(gw, id)));
      expect(jobs.every((j) => j.status === 'completed')).toBe(true);
      const used = new Set(jobs.map((j) => j.instance_id));
      expect(used.size).toBe(3);
      expect(worst).toBeLessThanOrEqual(2);
      expect(worst).toBeGreaterThan(0);
    },
  );

  it('answers a submission with a pending job, its queue position and an estimate', async () => {
    const emu = await emulator({ speed: 1, nodeDurations: { EmptyImage: 300 } });
    const gw = await gateway([emu]);
    const first = await gw.service.submit({ workflow: emptySave() }, { owner: 'alice' });
    const second = await gw.service.submit({ workflow: emptySave({ prefix: 'b' }) });
    expect(first.job.status).toBe('pending');
    expect(first.job.owner).toBe('alice');
    expect(second.queue_position).toBeGreaterThanOrEqual(0);
    expect(second.estimated_completion_seconds).toBeGreaterThan(0);
    const stored = await gw.services.jobs.get(second.job.id);
    expect(stored?.id).toBe(second.job.id);
    expect((await finished(gw, second.job.id)).status).toBe('completed');
  });

  it('routes a job needing a model only B has to B, and refuses one nobody can run', async () => {
    const a = await emulator();
    const b = await emulator({ models: { checkpoints: ['only-b.safetensors'] } });
    const gw = await gateway([a, b]);
    const r = await gw.service.submit({ workflow: txt2img({ ckpt: 'only-b.safetensors' }) });
    const job = await finished(gw, r.job.id);
    expect(job.status).toBe('completed');
    expect(job.instance_id).toBe(gw.ids[1]);
    const refused = gw.service.submit({ workflow: txt2img({ ckpt: 'nobody.safetensors' }) });
    await expect(refused).rejects.toBeInstanceOf(WorkflowRejectedError);
    await expect(refused).rejects.toMatchObject({ code: 'NO_CAPABLE_INSTANCE' });
    await expect(refused).rejects.toThrow(/nobody\.safetensors/);
    expect((await gw.services.jobs.countByStatus()).pending).toBe(0);
  });

  it('stores outputs byte-identical to what the instance serves, with progress on the way', async () => {
    const emu = await emulator({ speed: 1, nodeDurations: { KSampler: 600 } });
    const gw = await gateway([emu], [], { runner: { progressIntervalMs: 50 } });
    const progress: number[] = [];
    gw.bus.subscribe('job.progress', (p) => {
      if (p.progress.percent !== null) progress.push(p.progress.percent);
    });
    const r = await gw.service.submit({ workflow: txt2img({ steps: 6, prefix: 'bytes' }) });
    const job = await finished(gw, r.job.id);
    expect(job.status).toBe('completed');
    const outputs = await gw.service.outputs(job.id);
    expect(outputs).toHaveLength(1);
    const out = outputs[0];
    if (!out?.stored_path || !out.filename) throw new Error('no stored file');
    const stored = await readFile(gw.services.outputStore.absolute(out.stored_path));
    const served = Buffer.from(
      await (
        await fetch(
          `${emu.url}/view?filename=${encodeURIComponent(out.filename)}&subfolder=${encodeURIComponent(out.subfolder ?? '')}&type=output`,
        )
      ).arrayBuffer(),
    );
    expect(stored.equals(served)).toBe(true);
    expect(progress.length).toBeGreaterThan(0);
    const types = (await gw.service.events(job.id)).map((e) => e.type);
    expect(types).toContain('progress');
    expect(types.filter((t) => t === 'status').length).toBeGreaterThanOrEqual(2);
  });

  it('cancels a pending job (never sent) and a running one (interrupted on the instance)', async () => {
    const emu = await emulator({ speed: 1, nodeDurations: { KSampler: 4_000 } });
    const gw = await gateway([emu], [{ max_concurrent: 1, prefetch: 0 }]);
    const running = await gw.service.submit({ workflow: txt2img({ steps: 20, prefix: 'r' }) });
    const waiting = await gw.service.submit({ workflow: txt2img({ steps: 20, prefix: 'w' }) });
    await until(
      async () => (await gw.service.get(running.job.id))?.phase === 'running',
      5_000,
      'running',
    );
    const c1 = await gw.service.cancel(waiting.job.id);
    expect(c1.state).toBe('cancelled');
    const c2 = await gw.service.cancel(running.job.id);
    expect(c2.state).toBe('cancel_requested');
    expect((await finished(gw, running.job.id)).status).toBe('cancelled');
    await until(() => emu.stats().prompts.interrupted === 1, 5_000, 'interrupt at the emulator');
    expect(emu.stats().prompts.accepted).toBe(1);
  });

  it('interrupts and fails a job over its timeout', async () => {
    const emu = await emulator({ speed: 1, nodeDurations: { KSampler: 10_000 } });
    const gw = await gateway([emu]);
    const r = await gw.service.submit({ workflow: txt2img({ steps: 20 }), timeout_ms: 1_000 });
    const job = await finished(gw, r.job.id);
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe('job_timeout');
    await until(() => emu.stats().prompts.interrupted === 1, 5_000, 'interrupt at the emulator');
  });

  it('fails a job whose node raises, with the ComfyUI error and no retry', async () => {
    const emu = await emulator({
      faults: {
        nodeErrors: {
          EmptyImage: { exception_type: 'ValueError', exception_message: 'bad color' },
        },
      },
    });
    const other = await emulator();
    const gw = await gateway([emu, other], [{ priority: 0 }, { priority: 5 }], {
      scheduler: { strategy: 'priority' },
    });
    const r = await gw.service.submit({ workflow: emptySave() });
    const job = await finished(gw, r.job.id);
    expect(job.status).toBe('failed');
    expect(job.attempts).toBe(1);
    expect(job.error).toMatchObject({
      code: 'execution_error',
      node_id: '1',
      node_class: 'EmptyImage',
      exception_type: 'ValueError',
    });
    expect(job.error?.exception_message?.trim()).toBe('bad color');
    expect(job.error?.message).toBe('ValueError in node 1 (EmptyImage): bad color');
    expect(other.stats().prompts.accepted).toBe(0);
  });

  it('retries an out-of-memory job on another instance', async () => {
    const oom = await emulator({ faults: { oomNodes: ['EmptyImage'] } });
    const ok = await emulator();
    const gw = await gateway([oom, ok], [{ priority: 0 }, { priority: 5 }], {
      scheduler: { strategy: 'priority' },
    });
    const r = await gw.service.submit({ workflow: emptySave() });
    const job = await finished(gw, r.job.id);
    expect(job.status).toBe('completed');
    expect(job.attempts).toBe(2);
    expect(job.instance_id).toBe(gw.ids[1]);
    const attempts = await gw.services.jobs.attempts(job.id);
    expect(attempts.map((a) => a.outcome)).toEqual(['requeued', 'completed']);
    expect(attempts[0]?.error_code).toBe('out_of_memory');
  });

  it('keeps a paused instance out of new work and resumes it', async () => {
    const emu = await emulator();
    const gw = await gateway([emu]);
    await gw.registry.pause(gw.ids[0] ?? '');
    const r = await gw.service.submit({ workflow: emptySave() });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await gw.service.get(r.job.id))?.status).toBe('pending');
    await gw.registry.resume(gw.ids[0] ?? '');
    expect((await finished(gw, r.job.id)).status).toBe('completed');
  });

  it('requeues a stalled job (no event while running) elsewhere, after interrupting it', async () => {
    const stuck = await emulator({ speed: 1, nodeDurations: { EmptyImage: 4_000 } });
    const ok = await emulator();
    const gw = await gateway([stuck, ok], [{ priority: 0 }, { priority: 5 }], {
      scheduler: { strategy: 'priority' },
      runner: { stallTimeoutMs: 500 },
    });
    const r = await gw.service.submit({ workflow: emptySave() });
    const job = await finished(gw, r.job.id);
    expect(job.status).toBe('completed');
    expect(job.instance_id).toBe(gw.ids[1]);
    const attempts = await gw.services.jobs.attempts(job.id);
    expect(attempts.map((a) => a.error_code)).toEqual(['instance_stalled', null]);
    await until(
      () => stuck.stats().prompts.interrupted === 1,
      5_000,
      'interrupt on the stalled one',
    );
  });

  it('requeues a job an instance refuses (5xx on POST /prompt)', async () => {
    const refusing = await emulator({ faults: { httpErrors: { '/prompt': 503 } } });
    const ok = await emulator();
    const gw = await gateway([refusing, ok], [{ priority: 0 }, { priority: 5 }], {
      scheduler: { strategy: 'priority' },
    });
    const r = await gw.service.submit({ workflow: emptySave() });
    const job = await finished(gw, r.job.id);
    expect(job.status).toBe('completed');
    expect(job.excluded_instances).toEqual([gw.ids[0]]);
    const attempts = await gw.services.jobs.attempts(job.id);
    expect(attempts[0]?.error_code).toBe('dispatch_refused');
  });

  it('runs a job again elsewhere when its instance answers 5xx for the outputs (GET /view)', async () => {
    const broken = await emulator({ faults: { httpErrors: { '/view': 500 } } });
    const ok = await emulator();
    const gw = await gateway([broken, ok], [{ priority: 0 }, { priority: 5 }], {
      scheduler: { strategy: 'priority' },
    });
    const r = await gw.service.submit({ workflow: emptySave() });
    const job = await finished(gw, r.job.id);
    expect(job.status).toBe('completed');
    expect(job.instance_id).toBe(gw.ids[1]);
    expect(job.excluded_instances).toEqual([gw.ids[0]]);
    const attempts = await gw.services.jobs.attempts(job.id);
    expect(attempts.map((a) => [a.instance_id, a.outcome])).toEqual([
      [gw.ids[0], 'requeued'],
      [gw.ids[1], 'completed'],
    ]);
  });

  it('fails a job whose output the instance says is not there (404 on GET /view)', async () => {
    const emu = await emulator();
    const gw = await gateway([emu]);
    emu.setFaults({ httpErrors: { '/view': 404 } });
    const r = await gw.service.submit({ workflow: emptySave() });
    const job = await finished(gw, r.job.id);
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe('collect_failed');
    expect(job.excluded_instances).toEqual([]);
  });

  it('fails waiting jobs no instance can run once the only capable one is removed', async () => {
    const a = await emulator({ models: { checkpoints: ['only-a.safetensors'] } });
    const b = await emulator();
    const gw = await gateway([a, b]);
    const idA = gw.ids[0] ?? '';
    await gw.registry.pause(idA);
    const r = await gw.service.submit({ workflow: txt2img({ ckpt: 'only-a.safetensors' }) });
    expect(r.job.status).toBe('pending');
    await gw.registry.delete(idA);
    const job = await finished(gw, r.job.id);
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe('no_capable_instance');
    expect(job.error?.message).toMatch(/only-a\.safetensors/);
    expect(b.stats().prompts.accepted).toBe(0);
  });

  it('uploads a job input once per instance into the gateway subfolder, and reuses it', async () => {
    const emu = await emulator();
    const gw = await gateway([emu]);
    const img = new PNG({ width: 4, height: 3 });
    img.data.fill(200);
    const data = `data:image/png;base64,${PNG.sync.write(img).toString('base64')}`;
    const workflow = (prefix: string) => ({
      '1': { class_type: 'LoadImage', inputs: { image: 'photo.png' } },
      '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: prefix } },
    });
    const first = await gw.service.submit({
      workflow: workflow('up1'),
      inputs: [{ name: 'photo.png', data }],
    });
    expect((await finished(gw, first.job.id)).status).toBe('completed');
    const second = await gw.service.submit({
      workflow: workflow('up2'),
      inputs: [{ name: 'photo.png', data }],
    });
    expect((await finished(gw, second.job.id)).status).toBe('completed');
    expect(emu.stats().requests['POST /upload/image']).toBe(1);
    const uploaded = await readFile(
      path.join(emu.dirs.input, 'comfy-cluster', `${first.job.id}`),
    ).catch(() => undefined);
    expect(uploaded).toBeUndefined(); // named by content hash, not by job
    const inputs = await gw.services.jobs.inputs(first.job.id);
    const hash = inputs[0]?.hash ?? '';
    const onInstance = await readFile(path.join(emu.dirs.input, 'comfy-cluster', `${hash}.png`));
    expect(onInstance.equals(PNG.sync.write(img))).toBe(true);
  });
});
