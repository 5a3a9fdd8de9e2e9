/**
 * "Test connection" against real servers on 127.0.0.1: the emulator, nothing listening, a hung
 * one, a self-signed TLS server, servers that answer with errors or are not ComfyUI.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttp, type RequestListener, type Server } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ComfyUnreachableError } from '../../comfy/index.js';
import { startEmulator } from '../../emulator/index.js';
import type { InstanceConnection } from '../connection.js';
import { connectionTester, testConnection } from './connection-test.js';
import { classifyFailure } from './failure-kind.js';
import { freePort } from './testing/support.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

function connection(base_url: string, headers: Record<string, string> = {}): InstanceConnection {
  return {
    id: 'x',
    base_url,
    ws_url: `${base_url.replace(/^http/, 'ws')}/ws`,
    headers,
    timeout_ms: 300_000,
  };
}

async function serve(handler: RequestListener, tls = false): Promise<string> {
  const fixtures = new URL('./testing/fixtures/', import.meta.url);
  const server: Server = tls
    ? createHttps(
        {
          cert: readFileSync(new URL('self-signed-cert.pem', fixtures)),
          key: readFileSync(new URL('self-signed-key.pem', fixtures)),
        },
        handler,
      )
    : createHttp(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const SYSTEM_STATS = {
  system: {
    os: 'linux',
    ram_total: 1000,
    ram_free: 250,
    comfyui_version: '0.3.10',
    python_version: '3.11',
    pytorch_version: '2.5',
    embedded_python: false,
    argv: [],
  },
  devices: [
    {
      name: 'cuda:0 A',
      type: 'cuda',
      index: 0,
      vram_total: 100,
      vram_free: 40,
      torch_vram_total: 0,
      torch_vram_free: 0,
    },
    {
      name: 'cuda:1 B',
      type: 'cuda',
      index: 1,
      vram_total: 100,
      vram_free: 60,
      torch_vram_total: 0,
      torch_vram_free: 0,
    },
  ],
};

describe('testConnection', () => {
  it('reports version, devices, VRAM, RAM and round trip of a ComfyUI', async () => {
    const emu = await startEmulator({ port: 0, version: '0.8.0' });
    cleanups.push(() => emu.close());
    const r = await testConnection(connection(emu.url));
    expect(r).toMatchObject({ ok: true, comfyui_version: '0.8.0', os: process.platform });
    if (!r.ok) throw new Error(r.message);
    expect(r.devices[0]).toMatchObject({ type: 'cuda', index: 0 });
    expect(r.devices[0]?.name).toContain('RTX 4090');
    expect(r.vram_total).toBe(r.devices[0]?.vram_total);
    expect(r.ram_total).toBeGreaterThan(0);
    expect(r.round_trip_ms).toBeGreaterThan(0);
  });

  it('sends the instance credentials and sums several devices', async () => {
    const url = await serve((req, res) => {
      if (req.headers.authorization !== 'Bearer t0k') return void res.writeHead(401).end('no');
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(SYSTEM_STATS));
    });
    const denied = await testConnection(connection(url));
    expect(denied).toMatchObject({ ok: false, kind: 'http_status', status: 401 });
    if (!denied.ok) expect(denied.message).toMatch(/credentials/);
    const r = await connectionTester.test(connection(url, { authorization: 'Bearer t0k' }));
    expect(r).toMatchObject({
      ok: true,
      comfyui_version: '0.3.10',
      vram_total: 200,
      vram_free: 100,
      ram_total: 1000,
      ram_free: 250,
    });
  });

  it('says "refused" when nothing listens', async () => {
    const r = await testConnection(connection(`http://127.0.0.1:${await freePort()}`));
    expect(r).toMatchObject({ ok: false, kind: 'refused' });
    if (!r.ok) expect(r.message).toMatch(/connection refused/);
  });

  it('says "timeout" when the instance accepts but never answers', async () => {
    const emu = await startEmulator({ port: 0, faults: { hang: true } });
    cleanups.push(() => emu.close());
    const r = await testConnection(connection(emu.url), { timeoutMs: 200 });
    expect(r).toMatchObject({ ok: false, kind: 'timeout' });
    if (!r.ok) expect(r.round_trip_ms).toBeGreaterThanOrEqual(190);
  });

  it('says "tls" for a certificate it cannot trust', async () => {
    const url = await serve((_req, res) => res.end('{}'), true);
    const r = await testConnection(connection(url));
    expect(r).toMatchObject({ ok: false, kind: 'tls' });
    if (!r.ok) expect(r.message).toMatch(/TLS failure \(DEPTH_ZERO_SELF_SIGNED_CERT\)/);
  });

  it('gives the HTTP status of an error answer', async () => {
    const url = await serve((_req, res) => res.writeHead(502).end('Bad Gateway'));
    expect(await testConnection(connection(url))).toMatchObject({
      ok: false,
      kind: 'http_status',
      status: 502,
    });
  });

  it('says "not_comfyui" when something else answers', async () => {
    const html = await serve((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html>router login</html>'),
    );
    expect(await testConnection(connection(html))).toMatchObject({
      ok: false,
      kind: 'not_comfyui',
      status: 200,
    });
    const wrongShape = await serve((_req, res) => res.end('{"status":"ok"}'));
    expect(await testConnection(connection(wrongShape))).toMatchObject({ kind: 'not_comfyui' });
    const missing = await serve((_req, res) => res.writeHead(404).end('Not Found'));
    const r = await testConnection(connection(missing));
    expect(r).toMatchObject({ ok: false, kind: 'not_comfyui', status: 404 });
    if (!r.ok) expect(r.message).toMatch(/not ComfyUI/);
  });

  it('answers an unusable address with a failure, not an exception', async () => {
    const r = await testConnection(connection('http://exa mple:80'));
    expect(r).toMatchObject({ ok: false, kind: 'network' });
    if (!r.ok) expect(r.message).toMatch(/baseUrl/);
  });

  it('classifies name resolution failures as "dns"', () => {
    // No lookup here: tests talk to 127.0.0.1 only.
    const err = new ComfyUnreachableError(
      'Cannot reach http://gpu9.lan: host name not found',
      'ENOTFOUND',
      'connect',
    );
    expect(classifyFailure(err)).toEqual({ kind: 'dns', message: err.message });
    expect(classifyFailure(new Error('odd'))).toEqual({ kind: 'network', message: 'odd' });
  });
});
