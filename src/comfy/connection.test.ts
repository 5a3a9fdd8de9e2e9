import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ComfyClient } from './comfy-client.js';
import { ComfyEventStream } from './comfy-event-stream.js';
import { resolveConnection, routePath, webSocketUrl } from './connection.js';
import { ComfyTimeoutError, ComfyUnreachableError } from './errors.js';
import { sendJson, startFakeServer, startSilentServer } from './testing/fake-server.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testing/fixtures');
// A self-signed certificate for 127.0.0.1, made for these tests only.
const cert = readFileSync(path.join(fixtures, 'test-cert.pem'));
const key = readFileSync(path.join(fixtures, 'test-key.pem'));

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

describe('resolveConnection', () => {
  it('splits scheme, host, port and proxy prefix, and builds ws URLs', () => {
    const conn = resolveConnection({ baseUrl: 'https://gpu1.lan/comfy/', apiPrefix: true });
    expect(conn).toMatchObject({
      secure: true,
      hostname: 'gpu1.lan',
      port: 443,
      pathPrefix: '/comfy',
    });
    expect(conn.displayUrl).toBe('https://gpu1.lan/comfy');
    expect(routePath(conn, '/prompt')).toBe('/comfy/api/prompt');
    expect(routePath(conn, '/api/jobs', false)).toBe('/comfy/api/jobs');
    expect(webSocketUrl(conn, 'gw 1')).toBe('wss://gpu1.lan:443/comfy/api/ws?clientId=gw%201');
    const v6 = resolveConnection({ baseUrl: 'ws://[::1]:8188' });
    expect(v6).toMatchObject({ secure: false, hostname: '::1', port: 8188 });
    expect(webSocketUrl(v6, 'x')).toBe('ws://[::1]:8188/ws?clientId=x');
  });

  it('refuses queries and fragments in the base URL', () => {
    expect(() => resolveConnection({ baseUrl: 'http://h/?a=1' })).toThrow(/query/);
  });
});

describe('TLS', () => {
  it('reports an untrusted certificate as a TLS failure, and works with the CA given (https and wss)', async () => {
    const server = await startFakeServer({ tls: { key, cert } });
    cleanups.push(() => server.close());
    server.route('GET /queue', (_req, res) =>
      sendJson(res, 200, { queue_running: [], queue_pending: [] }),
    );
    server.onWsConnection((conn) => {
      conn.socket.send(
        JSON.stringify({
          type: 'status',
          data: { status: { exec_info: { queue_remaining: 4 } }, sid: conn.clientId },
        }),
      );
    });

    const untrusted = new ComfyClient({ baseUrl: server.url });
    cleanups.push(() => untrusted.close());
    const error = await untrusted.getQueue().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ComfyUnreachableError);
    expect(error).toMatchObject({ causeCode: 'DEPTH_ZERO_SELF_SIGNED_CERT', phase: 'connect' });
    expect((error as Error).message).toMatch(/TLS failure/);

    const trusted = new ComfyClient({ baseUrl: server.url, tls: { ca: cert } });
    cleanups.push(() => trusted.close());
    expect(await trusted.getQueue()).toEqual({ queue_running: [], queue_pending: [] });

    const stream = new ComfyEventStream({ client: trusted });
    cleanups.push(() => stream.close());
    const statuses: number[] = [];
    stream.on('status', (s) => statuses.push(s.queueRemaining));
    await stream.whenConnected({ timeoutMs: 5_000 });
    for (let i = 0; i < 400 && statuses.length === 0; i++)
      await new Promise((r) => setTimeout(r, 5));
    expect(statuses).toEqual([4]);
  });

  it('times out in the connect phase when the TLS handshake never completes', async () => {
    const silent = await startSilentServer();
    cleanups.push(() => silent.close());
    const client = new ComfyClient({
      baseUrl: silent.url.replace('http:', 'https:'),
      connectTimeoutMs: 150,
    });
    cleanups.push(() => client.close());
    const error = await client.getQueue().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ComfyTimeoutError);
    expect(error).toMatchObject({ phase: 'connect', timeoutMs: 150 });
  });
});
