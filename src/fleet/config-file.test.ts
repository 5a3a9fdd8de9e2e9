import { spawn } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConfigDocument } from './config-document.js';
import { readConfigFile, writeConfigFile, writeFileAtomic } from './config-file.js';
import { ConfigFileError } from './errors.js';
import { normalizeInstance } from './instance-validation.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const FIXTURE_V1 = path.join(here, 'fixtures', 'comfyui_instances.v1.0.json');
const NOW = '2025-06-01T12:00:00.000Z';

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cc-config-'));
  file = path.join(dir, 'comfyui_instances.json');
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function instance(input: Record<string, unknown>) {
  const r = normalizeInstance(input, { shape: 'create', source: 'api', now: NOW });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.instance;
}

function doc(): ConfigDocument {
  return {
    version: '2.0',
    instances: [
      instance({
        id: 'gpu1',
        name: 'gpu1',
        host: '10.0.0.5',
        auth: { type: 'bearer', token: 't' },
        tags: ['sdxl'],
      }),
      instance({
        id: 'gpu2',
        name: 'gpu2',
        host: 'gpu2.lan',
        port: 8189,
        path_map: [{ local: 'U:/', remote: '/srv/' }],
      }),
    ],
    active_instance_id: 'gpu2',
    last_saved: null,
    settings: { job_timeout_ms: 60000 },
  };
}

describe('config file', () => {
  it('round trip: what is written is read back unchanged (plus last_saved)', async () => {
    const saved = await writeConfigFile(path.join(dir, 'sub', 'comfyui_instances.json'), doc(), {
      now: NOW,
    });
    const read = await readConfigFile(path.join(dir, 'sub', 'comfyui_instances.json'));
    expect(read.document).toEqual({ ...doc(), last_saved: NOW });
    expect(saved.last_saved).toBe(NOW);
    expect(read.migratedFrom).toBeUndefined();
  });

  it('is written with owner-only permissions (it holds credentials) and stable formatting', async () => {
    await writeConfigFile(file, doc(), { now: NOW });
    if (process.platform !== 'win32') expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, 'utf8');
    expect(text.endsWith('}\n')).toBe(true);
    expect(Object.keys(JSON.parse(text))).toEqual([
      'version',
      'instances',
      'active_instance_id',
      'last_saved',
      'settings',
    ]);
    expect(Object.keys(JSON.parse(text).instances[0]).slice(0, 4)).toEqual([
      'id',
      'name',
      'description',
      'host',
    ]);
  });

  it('a hand-written entry without id gets the same id at every read', async () => {
    writeFileSync(
      file,
      JSON.stringify({
        version: '2.0',
        instances: [{ host: 'gpu1.lan', port: 8189 }, { host: '::1' }],
      }),
    );
    const first = await readConfigFile(file);
    const second = await readConfigFile(file);
    expect(first.document?.instances.map((i) => i.id)).toEqual(['gpu1.lan-8189', 'ip::1-8188']);
    expect(second.document?.instances.map((i) => i.id)).toEqual(['gpu1.lan-8189', 'ip::1-8188']);
    expect(first.document?.instances[0]).toMatchObject({ name: 'gpu1.lan:8189', source: 'file' });
  });

  it('a missing file reads as no document', async () => {
    expect(await readConfigFile(file)).toEqual({
      document: null,
      migratedFrom: undefined,
      notes: [],
      text: null,
    });
  });

  it('a file that is not JSON fails with the position and leaves the file alone', async () => {
    writeFileSync(file, '{\n  "version": "2.0",\n  "instances": [,]\n}');
    const err = await readConfigFile(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigFileError);
    expect((err as ConfigFileError).position).toEqual({ offset: 38, line: 3, column: 17 });
    expect((err as Error).message).toContain('is not valid JSON at line 3, column 17');
    expect(readFileSync(file, 'utf8')).toContain('[,]');
  });

  it('an invalid instance fails with every field problem', async () => {
    writeFileSync(
      file,
      JSON.stringify({
        version: '2.0',
        instances: [{ host: '10.0.0.1' }, { host: '10.0.0.1', port: 0, colour: 'red' }],
      }),
    );
    const err = (await readConfigFile(file).catch((e: unknown) => e)) as ConfigFileError;
    expect(err.code).toBe('config_file_invalid');
    expect(err.errors.map((e) => e.path)).toEqual(['instances[1].port', 'instances[1].colour']);
  });

  it('a version from the future is refused with a clear message', async () => {
    writeFileSync(file, JSON.stringify({ version: '9.0', instances: [] }));
    await expect(readConfigFile(file)).rejects.toThrow(
      'version "9.0" is newer than this gateway understands ("2.0")',
    );
  });

  it('a temp file left by an interrupted write is ignored and the real file is intact', async () => {
    await writeConfigFile(file, doc(), { now: NOW });
    writeFileSync(
      path.join(dir, '.comfyui_instances.json.4242.deadbeef.tmp'),
      '{"version": "2.0", "instan',
    );
    const read = await readConfigFile(file);
    expect(read.document?.instances.map((i) => i.id)).toEqual(['gpu1', 'gpu2']);
  });

  it('a failing rename leaves the target as it was and no temp file behind', async () => {
    const target = path.join(dir, 'occupied');
    mkdirSync(path.join(target, 'child'), { recursive: true });
    await expect(writeFileAtomic(target, 'new')).rejects.toThrow();
    expect(readdirSync(dir).sort()).toEqual(['occupied']);
    expect(readdirSync(target)).toEqual(['child']);
  });

  it('readers never see a partial file while another process writes, nor after it is killed', async () => {
    const moduleUrl = pathToFileURL(path.join(here, 'config-file.ts')).href;
    const script = path.join(dir, 'writer.mjs');
    writeFileSync(
      script,
      `import { writeFileAtomic } from ${JSON.stringify(moduleUrl)};
const file = process.argv[2];
const pad = 'x'.repeat(4_000_000);
for (let n = 1; n < 100000; n++) {
  await writeFileAtomic(file, JSON.stringify({ round: n, pad }));
  if (n === 2) process.stdout.write('writing\\n');
}
`,
    );
    const check = () => {
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as { round: number; pad: string };
      expect(parsed.pad.length).toBe(4_000_000);
      return parsed.round;
    };
    // A plain writeFile fails this: about half of such reads see a truncated file.
    // One writer process (starting it costs most of this test's time), killed mid-stream.
    const child = spawn(process.execPath, ['--import', 'tsx', script, file], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          if (d.toString().includes('writing')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`writer exited early (${code})`)));
      });
      for (let n = 0; n < 40; n++) {
        check();
        await new Promise((r) => setTimeout(r, 2));
      }
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) =>
        child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r),
      );
    }
    expect(check()).toBeGreaterThanOrEqual(2);
  }, 30_000);
});

describe('migration from version 1.0', () => {
  it('reads the 1.0 fixture into the current model', async () => {
    copyFileSync(FIXTURE_V1, file);
    const read = await readConfigFile(file, { now: NOW });
    expect(read.migratedFrom).toBe('1.0');
    expect(read.document?.active_instance_id).toBe('instance_001');
    expect(read.document?.last_saved).toBe('2024-01-17T16:00:00Z');
    const [local, remote] = read.document?.instances ?? [];
    expect(local).toEqual({
      id: 'instance_001',
      name: 'Primary GPU Instance',
      description: 'Main instance for character generation',
      host: 'localhost',
      port: 8188,
      tls: false,
      kind: 'managed',
      gpu_device: 'cuda:0',
      env_vars: { CUDA_VISIBLE_DEVICES: '0', COMFYUI_CUSTOM_NODES: '/path/to/custom/nodes' },
      custom_nodes_path: '/path/to/custom/nodes',
      max_concurrent: 2,
      prefetch: 1,
      timeout_ms: 300000,
      priority: 1,
      tags: [],
      enabled: true,
      auto_start: true,
      path_map: [],
      created_at: '2024-01-17T16:00:00Z',
      last_used_at: null,
      source: 'file',
    });
    expect(remote).toMatchObject({
      id: 'instance_002',
      host: '192.168.1.188',
      kind: 'remote',
      timeout_ms: 600000,
    });
    expect(read.notes.at(-1)).toContain('migrated from version 1.0');
  });

  it('names 1.0 fields it does not know (dropped) instead of ignoring them silently', async () => {
    const v1 = JSON.parse(readFileSync(FIXTURE_V1, 'utf8'));
    v1.instances[0].favouriteColour = 'red';
    writeFileSync(file, JSON.stringify(v1));
    const read = await readConfigFile(file, { now: NOW });
    expect(read.notes).toContain('instances[0].favouriteColour: not a version 1.0 field; dropped');
  });

  it('an invalid 1.0 file reports problems in the new field names', async () => {
    const v1 = JSON.parse(readFileSync(FIXTURE_V1, 'utf8'));
    v1.instances[1].maxConcurrentWorkflows = 0;
    writeFileSync(file, JSON.stringify(v1));
    const err = (await readConfigFile(file, { now: NOW }).catch(
      (e: unknown) => e,
    )) as ConfigFileError;
    expect(err.errors).toEqual([
      { path: 'instances[1].max_concurrent', message: 'must be between 1 and 64, got 0' },
    ]);
  });
});
