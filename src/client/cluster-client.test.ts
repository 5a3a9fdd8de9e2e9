import { createServer as createHttpServer } from 'node:http';
import { createServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterClient } from './cluster-client.js';
import { AuthError, ClusterError, ClusterTimeoutError, GatewayUnreachableError } from './errors.js';
import { type LiveGateway, liveGateway } from './testing/live-gateway.js';

let gw: LiveGateway;
let client: ClusterClient;

beforeAll(async () => {
  gw = await liveGateway({ emulators: 2 });
  client = new ClusterClient({ url: gw.url });
});

afterAll(async () => {
  await gw?.close();
});

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  await new Promise((r) => server.close(r));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('ClusterClient: core', () => {
  it('reads the gateway health', async () => {
    const h = await client.health();
    expect(h.status).toBe('healthy');
    expect(h.comfyui_instances.map((i) => i.id).sort()).toEqual([...gw.ids].sort());
  });

  it('returns the 503 "degraded" health body instead of throwing', async () => {
    for (const id of gw.ids) await client.instanceAction(id, 'stop');
    try {
      const h = await client.health();
      expect(h.status).toBe('degraded');
      expect(h.comfyui_instances.every((i) => !i.healthy)).toBe(true);
    } finally {
      for (const id of gw.ids) await client.instanceAction(id, 'start');
    }
  });

  it('throws a 503 that is not the health document (gateway shutting down, proxy)', async () => {
    const server = createHttpServer((_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ error: { code: 'not_ready', message: 'shutting down', details: null } }),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    try {
      const err = await new ClusterClient({ url: `http://127.0.0.1:${port}` })
        .health()
        .catch((e) => e);
      expect(err).toBeInstanceOf(ClusterError);
      expect(err).toMatchObject({ status: 503, code: 'not_ready', message: 'shutting down' });
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('names an unreachable gateway and keeps the network error as cause', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const err = await new ClusterClient({ url }).health().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayUnreachableError);
    expect(err).toMatchObject({ code: 'gateway_unreachable', status: null });
    expect((err as Error).message).toBe(
      `gateway not reachable at ${url} — is \`comfy-cluster serve\` running?`,
    );
    expect((err as Error).cause).toBeDefined();
  });

  it('times out a request that gets no answer', async () => {
    // A TCP server that accepts and never answers.
    const sockets: Socket[] = [];
    const silent = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const { port } = silent.address() as { port: number };
    try {
      const slow = new ClusterClient({ url: `http://127.0.0.1:${port}`, timeoutMs: 200 });
      const err = await slow.listInstances().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ClusterTimeoutError);
      expect(err).toMatchObject({ code: 'timeout' });
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it('maps a refused key to AuthError 401 and a user key on an admin route to 403', async () => {
    const admin = await gw.keys.create({ role: 'admin', name: 'admin' });
    const user = await gw.keys.create({ role: 'user', name: 'artist' });
    try {
      const wrong = new ClusterClient({ url: gw.url, apiKey: `cck_${'x'.repeat(43)}` });
      const e401 = await wrong.listJobs().catch((e: unknown) => e);
      expect(e401).toBeInstanceOf(AuthError);
      expect(e401).toMatchObject({ status: 401, code: 'unauthorized' });
      const asUser = new ClusterClient({ url: gw.url, apiKey: user.key });
      await expect(asUser.listJobs()).resolves.toMatchObject({ jobs: [] });
      const e403 = await asUser.listInstances().catch((e: unknown) => e);
      expect(e403).toBeInstanceOf(AuthError);
      expect(e403).toMatchObject({ status: 403, code: 'forbidden' });
      await expect(
        new ClusterClient({ url: gw.url, apiKey: admin.key }).listInstances(),
      ).resolves.toHaveLength(2);
    } finally {
      await gw.keys.revoke(admin.record.id);
      await gw.keys.revoke(user.record.id);
    }
  });

  it('reads the URL and key from the environment', () => {
    const before = { ...process.env };
    try {
      process.env.COMFY_CLUSTER_URL = 'http://gateway.example:9000/';
      expect(new ClusterClient().url).toBe('http://gateway.example:9000');
      delete process.env.COMFY_CLUSTER_URL;
      expect(new ClusterClient().url).toBe('http://127.0.0.1:8190');
      expect(() => new ClusterClient({ url: 'ftp://x' })).toThrow(ClusterError);
    } finally {
      process.env = before;
    }
  });
});

describe('ClusterClient: instances', () => {
  it('lists and gets instances by id and name, with the health report', async () => {
    const list = await client.listInstances();
    expect(list.map((i) => i.name).sort()).toEqual(['emu0', 'emu1']);
    expect(list.every((i) => i.health === 'healthy')).toBe(true);
    const byName = await client.getInstance('emu1');
    expect(byName.id).toBe(gw.ids[1]);
    expect(byName.report?.instance_id).toBe(gw.ids[1]);
  });

  it('adds, updates, acts on, tests and removes an instance', async () => {
    const port = await closedPort();
    const added = await client.addInstance({ name: 'extra', host: '127.0.0.1', port, tags: ['a'] });
    expect(added).toMatchObject({ name: 'extra', port, tags: ['a'], source: 'api' });
    const changed = await client.updateInstance(added.id, { max_concurrent: 3 });
    expect(changed.max_concurrent).toBe(3);
    expect((await client.instanceAction(added.id, 'pause')).status).toBe('paused');
    expect((await client.instanceAction(added.id, 'resume')).status).toBe('running');
    const test = await client.testInstance(added.id);
    expect(test).toMatchObject({ ok: false, kind: 'refused' });
    expect((await client.testInstance(gw.ids[0] ?? '')).ok).toBe(true);
    await client.removeInstance(added.id);
    const gone = await client.getInstance(added.id).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(ClusterError);
    expect(gone).toMatchObject({ status: 404, code: 'instance_not_found' });
  });

  it('reports field errors of a bad definition', async () => {
    const err = await client.addInstance({ host: '127.0.0.1', port: 70_000 }).catch((e) => e);
    expect(err).toMatchObject({ status: 400, code: 'validation_failed' });
    expect((err as ClusterError).details).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: 'port' })]),
    );
  });

  it('gets and sets the active instance', async () => {
    const second = gw.ids[1] ?? '';
    expect((await client.setActive(second))?.id).toBe(second);
    expect((await client.getActive())?.id).toBe(second);
    expect((await client.setActive(null))?.id).toBe(gw.ids[0]);
  });

  it('exports the config and imports it back (merge and replace)', async () => {
    const doc = (await client.exportConfig()) as { instances: Array<{ id: string }> };
    expect(doc.instances.map((i) => i.id).sort()).toEqual([...gw.ids].sort());
    const merged = await client.importConfig(doc, { mode: 'merge' });
    expect(merged.added).toEqual([]);
    const replaced = await client.importConfig(JSON.stringify(doc));
    expect(replaced.removed).toEqual([]);
    const bad = await client
      .importConfig({ version: '2.0', instances: [{ port: 1 }] })
      .catch((e) => e);
    expect(bad).toMatchObject({ status: 400 });
  });
});
