/**
 * startGateway (what `serve` runs) in-process: store, fleet, monitor and a real listen on port 0,
 * and the --instances parser.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../emulator/index.js';
import { apiKeyRepository, openStore, STORE_FILE_NAME } from '../store/index.js';
import { parseQuickInstances, withoutInstanceVariables } from './quick-instances.js';
import {
  authModeFor,
  GatewayStartError,
  isLoopback,
  listenUrl,
  type RunningGateway,
  startGateway,
} from './server.js';
import { FAST_MONITOR, until } from './testing/harness.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'cc-serve-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function emulator(): Promise<RunningEmulator> {
  const emu = await startEmulator({ port: 0, speed: Number.POSITIVE_INFINITY });
  cleanups.push(() => emu.close());
  return emu;
}

const quiet = () =>
  new Writable({
    write(_chunk, _enc, done) {
      done();
    },
  });

async function start(options: Parameters<typeof startGateway>[0]): Promise<RunningGateway> {
  const gw = await startGateway({
    port: 0,
    logDestination: quiet(),
    monitor: FAST_MONITOR,
    ...options,
  });
  cleanups.push(() => gw.close());
  return gw;
}

describe('startGateway', () => {
  it('runs --instances from a session file, never the user config file, and cleans up', async () => {
    const dir = await tempDir();
    const emu = await emulator();
    const userConfig = path.join(dir, 'user', 'comfyui_instances.json');
    const gw = await start({
      dataDir: path.join(dir, 'data'),
      env: { COMFY_CLUSTER_CONFIG: userConfig, COMFYUI_HOST_1: '127.0.0.1:1' },
      quickInstances: parseQuickInstances(`http://127.0.0.1:${emu.port}`),
    });
    expect(gw.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const [instance] = gw.registry.list();
    expect(gw.registry.list()).toHaveLength(1);
    expect(instance).toMatchObject({ name: 'quick-1', port: emu.port });
    await until(() => gw.monitor.health(instance?.id ?? '').health === 'healthy', 5_000, 'healthy');
    const res = await fetch(`${gw.url}/health`);
    expect(res.status).toBe(200);
    // Changes through the API stay in the session too.
    const created = await fetch(`${gw.url}/api/v1/instances`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'extra', host: '127.0.0.1', port: 2, enabled: false }),
    });
    expect(created.status).toBe(201);
    const session = gw.registry.configFile;
    expect(session).not.toBe(userConfig);
    expect(existsSync(session)).toBe(true);
    await gw.close();
    expect(existsSync(userConfig)).toBe(false);
    expect(existsSync(session)).toBe(false);
    expect(existsSync(path.join(dir, 'data', STORE_FILE_NAME))).toBe(true);
  });

  it('uses the config file and the environment otherwise', async () => {
    const dir = await tempDir();
    const emu = await emulator();
    const config = path.join(dir, 'comfyui_instances.json');
    await writeFile(
      config,
      JSON.stringify({
        version: '2.0',
        instances: [{ id: 'gpu-a', host: '127.0.0.1', port: emu.port }],
      }),
    );
    const gw = await start({
      dataDir: dir,
      configFile: config,
      env: { COMFYUI_HOST_1: '127.0.0.1:1' },
      flags: { log_level: 'warn' },
    });
    expect(gw.registry.list().map((i) => i.id)).toEqual(['gpu-a', 'env-127.0.0.1-1']);
    expect(gw.registry.settings.origins.log_level).toBe('flag');
    const text = await readFile(config, 'utf8');
    expect(text).not.toContain('env-127.0.0.1-1');
  });

  it('refuses a non-loopback address without an API key, and leaves the store usable', async () => {
    const dir = await tempDir();
    const error = await startGateway({
      host: '0.0.0.0',
      dataDir: dir,
      env: {},
      logDestination: quiet(),
    })
      .then(() => undefined)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayStartError);
    expect((error as GatewayStartError).kind).toBe('usage');
    expect((error as Error).message).toContain('--insecure');
    expect((error as Error).message).toContain('keys create');
    // The store was closed again: another process can use it.
    const store = await openStore({
      kind: 'sqlite',
      file: path.join(dir, STORE_FILE_NAME),
      migrate: false,
    });
    await store.migrate();
    expect(await apiKeyRepository(store).countActive()).toBe(0);
    await store.close();
  });

  it('requires keys on loopback once one exists (auth auto)', async () => {
    const dir = await tempDir();
    const store = await openStore({
      kind: 'sqlite',
      file: path.join(dir, STORE_FILE_NAME),
      migrate: false,
    });
    await store.migrate();
    const { key } = await apiKeyRepository(store).create({ role: 'admin' });
    await store.close();
    const gw = await start({
      dataDir: dir,
      env: {},
      quickInstances: parseQuickInstances('127.0.0.1:1'),
    });
    expect((await fetch(`${gw.url}/api/v1/instances`)).status).toBe(401);
    const ok = await fetch(`${gw.url}/api/v1/instances`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(ok.status).toBe(200);
  });

  it('names a port that is taken', async () => {
    const dir = await tempDir();
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
    cleanups.push(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
    const address = blocker.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const error = await startGateway({
      port,
      dataDir: dir,
      env: {},
      logDestination: quiet(),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayStartError);
    expect((error as Error).message).toBe(
      `port ${port} on 127.0.0.1 is already in use (choose another with --port)`,
    );
  });
});

describe('authModeFor', () => {
  it('requires keys beyond loopback unless --insecure', () => {
    expect(authModeFor('127.0.0.1', { insecure: false, activeKeys: 0 })).toBe('auto');
    expect(authModeFor('0.0.0.0', { insecure: true, activeKeys: 0 })).toBe('auto');
    expect(authModeFor('0.0.0.0', { insecure: false, activeKeys: 2 })).toBe('required');
    expect(authModeFor('::', { insecure: true, activeKeys: 2 })).toBe('auto');
    expect(() => authModeFor('10.0.0.5', { insecure: false, activeKeys: 0 })).toThrow(
      /refusing to listen on 10\.0\.0\.5 without an API key/,
    );
  });
});

describe('addresses', () => {
  it('tells loopback from the rest', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) {
      expect(isLoopback(h)).toBe(true);
    }
    for (const h of ['0.0.0.0', '::', '10.0.0.5', 'gpu.lan', '128.0.0.1'])
      expect(isLoopback(h)).toBe(false);
    expect(listenUrl('::1', 8190)).toBe('http://[::1]:8190');
    expect(listenUrl('127.0.0.1', 8190)).toBe('http://127.0.0.1:8190');
  });
});

describe('parseQuickInstances', () => {
  it('reads URLs, host:port and bare hosts', () => {
    expect(
      parseQuickInstances(
        'http://127.0.0.1:8188, https://gpu.lan, gpu2.lan:8189,gpu3.lan,http://[::1]:9000,http://h:80',
      ).map(({ host, port, tls, name }) => ({ host, port, tls, name })),
    ).toEqual([
      { host: '127.0.0.1', port: 8188, tls: false, name: 'quick-1' },
      { host: 'gpu.lan', port: 443, tls: true, name: 'quick-2' },
      { host: 'gpu2.lan', port: 8189, tls: false, name: 'quick-3' },
      { host: 'gpu3.lan', port: 8188, tls: false, name: 'quick-4' },
      { host: '::1', port: 9000, tls: false, name: 'quick-5' },
      { host: 'h', port: 80, tls: false, name: 'quick-6' },
    ]);
  });

  it('names the entry that is wrong', () => {
    expect(() => parseQuickInstances('')).toThrow('lists no instance');
    expect(() => parseQuickInstances('a:8188,ftp://b')).toThrow('entry 2');
    expect(() => parseQuickInstances('http://u:p@h:1')).toThrow('credentials');
    expect(() => parseQuickInstances('http://h:1/comfy')).toThrow('no path');
    expect(() => parseQuickInstances('h:99999')).toThrow('entry 1');
  });

  it('drops instance variables and keeps the tunables', () => {
    expect(
      withoutInstanceVariables({
        COMFYUI_HOST_1: 'a',
        COMFYUI_HOST_12: 'b',
        COMFYUI_SERVERS: '[]',
        NUKE_COMFYUI_IP: 'c',
        LOG_LEVEL: 'debug',
        COMFYUI_TIMEOUT: '5s',
      }),
    ).toEqual({ LOG_LEVEL: 'debug', COMFYUI_TIMEOUT: '5s' });
  });
});
