import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type BusEvent, InProcessEventBus } from '../store/index.js';
import {
  ConfigFileError,
  ImportRejectedError,
  InstanceReadOnlyError,
  InstanceValidationError,
  LifecycleError,
} from './errors.js';
import type { FleetEvents } from './events.js';
import type { Instance } from './instance.js';
import { InstanceRegistry, type RegistryOptions } from './instance-registry.js';
import { acceptsNewWork, type InstanceSupervisor } from './lifecycle.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const FIXTURE_V1 = path.join(here, 'fixtures', 'comfyui_instances.v1.0.json');
const T0 = Date.parse('2025-06-01T12:00:00.000Z');
const SECRET = 'tok-s3cret-value';

let dir: string;
let file: string;
let events: BusEvent<FleetEvents>[];
let bus: InProcessEventBus<FleetEvents>;
const open: InstanceRegistry[] = [];

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cc-registry-'));
  file = path.join(dir, 'comfyui_instances.json');
  events = [];
  bus = new InProcessEventBus<FleetEvents>({
    onHandlerError: (e) => {
      throw e;
    },
  });
  bus.subscribe('*', (e) => void events.push(structuredClone(e)));
});
afterEach(async () => {
  for (const r of open.splice(0)) await r.close();
  rmSync(dir, { recursive: true, force: true });
});

async function registry(options: Partial<RegistryOptions> = {}): Promise<InstanceRegistry> {
  const r = await InstanceRegistry.open({
    configFile: file,
    env: {},
    bus,
    clock: () => T0,
    ...options,
  });
  open.push(r);
  return r;
}

function fileJson(): { instances: Instance[]; active_instance_id: string | null; version: string } {
  return JSON.parse(readFileSync(file, 'utf8'));
}

const gpu1 = {
  name: 'gpu1',
  host: '10.0.0.5',
  tags: ['sdxl'],
  auth: { type: 'bearer', token: SECRET },
};

describe('loading', () => {
  it('nothing configured: one instance at 127.0.0.1:8188, active and running; no file is written', async () => {
    const r = await registry();
    expect(r.list()).toEqual([
      expect.objectContaining({
        name: 'default',
        host: '127.0.0.1',
        port: 8188,
        source: 'env',
        status: 'running',
        active: true,
      }),
    ]);
    expect(r.warnings).toEqual([]);
    expect(existsSync(file)).toBe(false);
  });

  it('environment instances are listed after file instances and marked source=env', async () => {
    const a = await registry();
    await a.create(gpu1);
    await a.close();
    const r = await registry({ env: { COMFYUI_HOST_1: 'localhost:8189' } });
    expect(r.list().map((i) => `${i.name}/${i.source}/${i.origin}`)).toEqual([
      'gpu1/api/null',
      'localhost:8189/env/COMFYUI_HOST_1',
    ]);
  });

  it('keeps the invalid-JSON warning visible, with settings warnings, and falls back', async () => {
    const r = await registry({ env: { COMFYUI_SERVERS: '[{"host": "a",]', JOB_TIMEOUT: 'never' } });
    expect(r.list().map((i) => `${i.host}:${i.port}`)).toEqual(['127.0.0.1:8188']);
    expect(r.warnings.map((w) => `${w.code}:${w.source}`)).toEqual([
      'invalid_json:COMFYUI_SERVERS',
      'invalid_value:JOB_TIMEOUT',
    ]);
    expect(r.warnings[0]?.position).toEqual({ offset: 14, line: 1, column: 15 });
    expect(r.settings.settings.job_timeout_ms).toBe(300000);
  });

  it('an env server already in the file is used once (the file entry) with a warning', async () => {
    const a = await registry();
    await a.create({ name: 'box', host: '127.0.0.1', port: 8189 });
    await a.close();
    const r = await registry({
      env: { COMFYUI_HOST_1: 'localhost:8189', COMFYUI_HOST_2: 'localhost:8190' },
    });
    expect(r.list().map((i) => `${i.name}:${i.port}`)).toEqual(['box:8189', 'localhost:8190:8190']);
    expect(r.warnings[0]?.message).toBe(
      "COMFYUI_HOST_1 (localhost:8189) is already in the config file as 'box'; the file's entry is used",
    );
  });

  it('a broken config file stops the load with the file and position named, and is not overwritten', async () => {
    writeFileSync(file, '{"version": "2.0", "instances": [}');
    const err = await InstanceRegistry.open({ configFile: file, env: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigFileError);
    expect((err as Error).message).toContain(file);
    expect((err as ConfigFileError).position?.column).toBe(34);
    expect(readFileSync(file, 'utf8')).toBe('{"version": "2.0", "instances": [}');
  });

  it('migrates a 1.0 file on load: backup kept, file rewritten as 2.0, warning shown', async () => {
    copyFileSync(FIXTURE_V1, file);
    const r = await registry();
    expect(readFileSync(`${file}.v1.0.bak`, 'utf8')).toBe(readFileSync(FIXTURE_V1, 'utf8'));
    expect(fileJson().version).toBe('2.0');
    expect(fileJson().instances.map((i) => [i.id, i.kind, i.max_concurrent])).toEqual([
      ['instance_001', 'managed', 2],
      ['instance_002', 'remote', 1],
    ]);
    expect(r.active()?.id).toBe('instance_001');
    expect(r.warnings[0]).toMatchObject({ code: 'config_migrated', source: file });
    expect(r.list().map((i) => i.status)).toEqual(['stopped', 'running']);
  });

  it('an active_instance_id naming nothing gives a warning and the first instance is active', async () => {
    writeFileSync(
      file,
      JSON.stringify({
        version: '2.0',
        instances: [{ host: 'a.lan' }],
        active_instance_id: 'gone',
      }),
    );
    const r = await registry();
    expect(r.active()?.host).toBe('a.lan');
    expect(r.warnings[0]).toMatchObject({ code: 'unknown_active_instance' });
  });
});

describe('create / update / delete', () => {
  it('create validates, persists, announces, and never shows the secret', async () => {
    const r = await registry();
    const view = await r.create(gpu1);
    expect(view).toMatchObject({
      name: 'gpu1',
      host: '10.0.0.5',
      source: 'api',
      status: 'running',
      auth: { type: 'bearer', redacted: true },
    });
    expect(JSON.stringify(r.list())).not.toContain(SECRET);
    expect(fileJson().instances).toEqual([
      expect.objectContaining({ id: view.id, auth: { type: 'bearer', token: SECRET } }),
    ]);
    // The 127.0.0.1:8188 stand-in gives way to the first configured instance.
    expect(events.map((e) => e.type)).toEqual([
      'instance.removed',
      'instance.added',
      'instance.active',
    ]);
    expect(JSON.stringify(events)).not.toContain(SECRET);
    expect(r.connection(view.id).headers).toEqual({ authorization: `Bearer ${SECRET}` });
  });

  it('the stand-in never blocks registering 127.0.0.1:8188 and comes back when the last instance goes', async () => {
    const r = await registry();
    const local = await r.create({ name: 'local', host: 'localhost', port: 8188 });
    expect(r.list().map((i) => i.name)).toEqual(['local']);
    await r.delete(local.id);
    expect(r.list().map((i) => `${i.name}@${i.host}:${i.port}`)).toEqual([
      'default@127.0.0.1:8188',
    ]);
    expect(events.slice(-3).map((e) => e.type)).toEqual([
      'instance.removed',
      'instance.added',
      'instance.active',
    ]);
  });

  it('create reports duplicate name and host:port, including against env instances', async () => {
    const r = await registry({ env: { COMFYUI_HOST_1: 'localhost:8188' } });
    await r.create(gpu1);
    const err = (await r
      .create({ name: 'GPU1', host: '10.0.0.5' })
      .catch((e: unknown) => e)) as InstanceValidationError;
    expect(err).toBeInstanceOf(InstanceValidationError);
    expect(err.code).toBe('validation_failed');
    expect(err.errors.map((e) => e.path)).toEqual(['name', 'host']);
    const env = (await r
      .create({ host: '127.0.0.1' })
      .catch((e: unknown) => e)) as InstanceValidationError;
    expect(env.errors[0]?.message).toContain(
      "127.0.0.1:8188 is already used by instance 'localhost:8188'",
    );
    expect(r.list()).toHaveLength(2);
  });

  it('create rejects bad input field by field and changes nothing', async () => {
    const r = await registry();
    const err = (await r
      .create({ host: 'gpu 1', port: '8188', colour: 'red' })
      .catch((e: unknown) => e)) as InstanceValidationError;
    expect(err.errors.map((e) => e.path)).toEqual(['port', 'colour', 'host']);
    expect(existsSync(file)).toBe(false);
    expect(events).toEqual([]);
  });

  it('update changes fields, saves and lists the changes; auth null removes it', async () => {
    const r = await registry();
    const v = await r.create(gpu1);
    events.length = 0;
    const u = await r.update('gpu1', { port: 8189, max_concurrent: 2, auth: null });
    expect(u).toMatchObject({ port: 8189, max_concurrent: 2, auth: null });
    expect(events).toEqual([
      {
        type: 'instance.changed',
        payload: {
          instance: expect.objectContaining({ id: v.id }),
          changes: ['port', 'auth', 'max_concurrent'],
        },
      },
    ]);
    expect(fileJson().instances[0]).not.toHaveProperty('auth');
    expect(fileJson().instances[0]?.port).toBe(8189);
  });

  it('environment instances are read-only and never written to the file', async () => {
    const r = await registry({ env: { NUKE_COMFYUI_IP: '192.168.1.187' } });
    const envId = r.list()[0]?.id ?? '';
    await expect(r.update(envId, { port: 1 })).rejects.toBeInstanceOf(InstanceReadOnlyError);
    await expect(r.delete(envId)).rejects.toThrow('comes from NUKE_COMFYUI_IP');
    await r.create({ name: 'api1', host: '10.0.0.9' });
    expect(fileJson().instances.map((i) => i.name)).toEqual(['api1']);
  });

  it('delete removes from the file and moves "active" on', async () => {
    const r = await registry();
    const a = await r.create({ name: 'a', host: 'a.lan' });
    const b = await r.create({ name: 'b', host: 'b.lan' });
    await r.setActive('b');
    events.length = 0;
    await r.delete(b.id);
    expect(fileJson()).toMatchObject({
      active_instance_id: null,
      instances: [expect.objectContaining({ id: a.id })],
    });
    expect(events).toEqual([
      { type: 'instance.removed', payload: { id: b.id, name: 'b' } },
      { type: 'instance.active', payload: { id: a.id, previous: b.id } },
    ]);
    expect(r.resolve('active').id).toBe(a.id);
  });

  it('survives a restart: same instances, ids, active and enabled flags', async () => {
    const r = await registry();
    const a = await r.create({
      name: 'a',
      host: 'a.lan',
      path_map: [{ local: 'U:/', remote: '/srv/' }],
    });
    await r.create({ name: 'b', host: 'b.lan' });
    await r.setActive('a');
    await r.stop('b');
    await r.close();
    const again = await registry();
    expect(again.list().map((i) => `${i.id === a.id}/${i.name}/${i.status}/${i.active}`)).toEqual([
      'true/a/running/true',
      'false/b/stopped/false',
    ]);
    expect(again.get(a.id)?.path_map).toEqual([{ local: 'U:/', remote: '/srv/' }]);
  });

  it('markUsed is saved by flush/close', async () => {
    const r = await registry({ clock: () => T0 + 1000 });
    const a = await r.create({ name: 'a', host: 'a.lan' });
    r.markUsed(a.id, T0 + 5000);
    await r.flush();
    expect(fileJson().instances[0]?.last_used_at).toBe('2025-06-01T12:00:05.000Z');
  });
});

describe('lifecycle', () => {
  it('remote: stop/start toggles routing (saved), pause/resume drain in memory', async () => {
    const r = await registry();
    const a = await r.create({ name: 'a', host: 'a.lan' });
    events.length = 0;
    expect(acceptsNewWork(await r.pause('a'))).toBe(false);
    expect(r.resolve('a').status).toBe('paused');
    expect(acceptsNewWork(await r.resume('a'))).toBe(true);
    expect((await r.stop('a')).status).toBe('stopped');
    expect(fileJson().instances[0]?.enabled).toBe(false);
    await expect(r.pause('a')).rejects.toThrow(
      "instance 'a' is stopped; only a running instance can be paused",
    );
    await expect(r.resume('a')).rejects.toBeInstanceOf(LifecycleError);
    expect((await r.start('a')).status).toBe('running');
    expect(fileJson().instances[0]?.enabled).toBe(true);
    expect(events.filter((e) => e.type === 'instance.status').map((e) => e.payload)).toEqual([
      { id: a.id, status: 'paused', previous: 'running', reason: null },
      { id: a.id, status: 'running', previous: 'paused', reason: null },
      { id: a.id, status: 'stopped', previous: 'running', reason: null },
      { id: a.id, status: 'running', previous: 'stopped', reason: null },
    ]);
  });

  it('managed without a supervisor: a clear error', async () => {
    const r = await registry();
    await r.create({ name: 'm', host: '127.0.0.1', port: 8190, kind: 'managed' });
    const err = (await r.start('m').catch((e: unknown) => e)) as LifecycleError;
    expect(err.code).toBe('supervisor_unavailable');
    expect(r.resolve('m').status).toBe('stopped');
  });

  it('managed with a supervisor: starting -> running, stopping -> stopped, failure -> error', async () => {
    const calls: string[] = [];
    let failNext = false;
    const supervisor: InstanceSupervisor = {
      async start(i) {
        calls.push(`start ${i.name}`);
        if (failNext) throw new Error('CUDA device 3 not found');
      },
      async stop(i) {
        calls.push(`stop ${i.name}`);
      },
    };
    const r = await registry({ supervisor });
    const m = await r.create({
      name: 'm',
      host: '127.0.0.1',
      port: 8190,
      kind: 'managed',
      gpu_device: '3',
    });
    await expect(r.delete('m')).resolves.toBeUndefined();
    await r.create({
      id: m.id,
      name: 'm',
      host: '127.0.0.1',
      port: 8190,
      kind: 'managed',
      gpu_device: '3',
    });
    events.length = 0;
    expect((await r.start('m')).status).toBe('running');
    await expect(r.delete('m')).rejects.toThrow(
      "instance 'm' is running; stop it before deleting it",
    );
    expect((await r.stop('m')).status).toBe('stopped');
    failNext = true;
    await expect(r.start('m')).rejects.toThrow('CUDA device 3 not found');
    expect(r.resolve('m')).toMatchObject({
      status: 'error',
      status_reason: 'CUDA device 3 not found',
    });
    expect(calls).toEqual(['start m', 'stop m', 'start m']);
    expect(
      events
        .filter((e) => e.type === 'instance.status')
        .map((e) => (e.payload as { status: string }).status),
    ).toEqual(['starting', 'running', 'stopping', 'stopped', 'starting', 'error']);
  });
});

describe('export / import', () => {
  async function seeded(): Promise<InstanceRegistry> {
    const r = await registry({ env: { COMFYUI_HOST_1: 'localhost:8188' } });
    await r.create({ id: 'gpu1', ...gpu1 });
    await r.create({ id: 'gpu2', name: 'gpu2', host: '10.0.0.6' });
    events.length = 0;
    return r;
  }

  it('export leaves secrets out by default and includes them on request', async () => {
    const r = await seeded();
    const plain = JSON.parse(r.exportConfig());
    expect(plain.version).toBe('2.0');
    expect(plain.instances.map((i: Instance) => i.id)).toEqual(['gpu1', 'gpu2']);
    expect(plain.instances[0].auth).toEqual({ type: 'bearer', redacted: true });
    expect(r.exportConfig()).not.toContain(SECRET);
    expect(r.exportConfig({ includeSecrets: true })).toContain(SECRET);
  });

  it('import of a redacted export keeps the stored secret', async () => {
    const r = await seeded();
    const exported = JSON.parse(r.exportConfig());
    exported.instances[1].tags = ['new'];
    const summary = await r.importConfig(exported);
    expect(summary).toEqual({ added: [], updated: ['gpu2'], removed: [], migrated_from: null });
    expect(r.connection('gpu1').headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(events.map((e) => e.type)).toEqual(['instance.changed']);
  });

  it('import is all-or-nothing: per-instance errors, and nothing changes', async () => {
    const r = await seeded();
    const before = readFileSync(file, 'utf8');
    const listBefore = r.list();
    const err = (await r
      .importConfig({
        version: '2.0',
        instances: [
          { id: 'ok', name: 'fine', host: '10.0.0.7' },
          { id: 'bad1', host: 'http://x', port: 0 },
          { id: 'bad2', name: 'fine', host: '10.0.0.8' },
          {
            id: 'bad3',
            name: 'clash',
            host: 'localhost',
            auth: { type: 'bearer', redacted: true },
          },
        ],
        active_instance_id: 'nobody',
      })
      .catch((e: unknown) => e)) as ImportRejectedError;
    expect(err).toBeInstanceOf(ImportRejectedError);
    expect(err.code).toBe('import_rejected');
    expect(err.instances.map((i) => [i.index, i.id, i.errors.map((e) => e.path)])).toEqual([
      [1, 'bad1', ['instances[1].port', 'instances[1].host']],
      [2, 'bad2', ['instances[2].name']],
      [3, 'bad3', ['instances[3].auth', 'instances[3].host']],
    ]);
    expect(err.instances[2]?.errors[1]?.message).toContain('defined by COMFYUI_HOST_1');
    expect(err.message).toContain('nothing was changed');
    expect(readFileSync(file, 'utf8')).toBe(before);
    expect(r.list()).toEqual(listBefore);
    expect(events).toEqual([]);
  });

  it('import of text that is not JSON names the position', async () => {
    const r = await seeded();
    const err = (await r
      .importConfig('{"version": "2.0", "instances": [}')
      .catch((e: unknown) => e)) as ImportRejectedError;
    expect(err.errors[0]?.message).toContain('not valid JSON at line 1, column 34 (offset 33)');
  });

  it('replace swaps the file instances (env ones stay); merge adds and replaces by id', async () => {
    const r = await seeded();
    const merged = await r.importConfig(
      {
        version: '2.0',
        instances: [
          { id: 'gpu2', name: 'gpu2', host: '10.0.0.66' },
          { id: 'gpu3', host: '10.0.0.7' },
        ],
      },
      { mode: 'merge' },
    );
    expect(merged).toMatchObject({ added: ['gpu3'], updated: ['gpu2'], removed: [] });
    expect(r.list().map((i) => i.id)).toEqual(['gpu1', 'gpu2', 'gpu3', 'env-localhost-8188']);

    const replaced = await r.importConfig({
      version: '2.0',
      instances: [{ id: 'solo', host: 'solo.lan' }],
      active_instance_id: 'solo',
    });
    expect(replaced).toMatchObject({ added: ['solo'], removed: ['gpu1', 'gpu2', 'gpu3'] });
    expect(r.list().map((i) => i.id)).toEqual(['solo', 'env-localhost-8188']);
    expect(fileJson()).toMatchObject({
      active_instance_id: 'solo',
      instances: [expect.objectContaining({ id: 'solo', source: 'file' })],
    });
  });

  it('imports a version 1.0 document as is', async () => {
    const r = await registry();
    const summary = await r.importConfig(readFileSync(FIXTURE_V1, 'utf8'));
    expect(summary).toMatchObject({
      added: ['instance_001', 'instance_002'],
      migrated_from: '1.0',
    });
    expect(r.active()?.id).toBe('instance_001');
  });
});
