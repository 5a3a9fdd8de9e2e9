import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterClient } from './cluster-client.js';
import { AuthError, ClusterError } from './errors.js';
import { type LiveGateway, liveGateway } from './testing/live-gateway.js';
import type { ClusterEvent } from './types.js';

let gw: LiveGateway;
let client: ClusterClient;

beforeAll(async () => {
  gw = await liveGateway({ emulators: 1 });
  client = new ClusterClient({ url: gw.url });
});

afterAll(async () => {
  await gw?.close();
});

const solid = {
  '1': { class_type: 'EmptyImage', inputs: { width: 8, height: 8, batch_size: 1, color: 0 } },
  '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'solid' } },
};

describe('ClusterClient: templates', () => {
  it('creates, replaces, runs, lists and deletes a template', async () => {
    const created = await client.createTemplate({
      name: 'solid',
      description: 'a plain square',
      workflow: solid,
      parameters: { color: { node: '1', input: 'color', type: 'integer', default: 0 } },
    });
    expect(created).toMatchObject({ name: 'solid', source: 'api', variants: [] });
    const taken = await client.createTemplate({ name: 'solid', workflow: solid }).catch((e) => e);
    expect(taken).toMatchObject({ status: 409, code: 'conflict' });
    const replaced = await client.putTemplate('solid', {
      description: 'still a square',
      workflow: solid,
      parameters: { color: { node: '1', input: 'color', type: 'integer', default: 255 } },
    });
    expect(replaced.description).toBe('still a square');
    expect((await client.getTemplate('solid')).parameters.color?.default).toBe(255);
    expect((await client.listTemplates()).map((t) => t.name)).toEqual(
      expect.arrayContaining(['solid', 'upscale-image']),
    );
    const accepted = await client.runTemplate('solid', { color: 128 });
    const job = await client.wait(accepted.job_id);
    expect(job).toMatchObject({
      status: 'completed',
      template: { name: 'solid', params: { color: 128 } },
    });
    await client.deleteTemplate('solid');
    await expect(client.getTemplate('solid')).rejects.toMatchObject({ status: 404 });
    await expect(client.runTemplate('solid')).rejects.toMatchObject({ status: 404 });
  });
});

describe('ClusterClient: fleet events and logs', () => {
  it('streams fleet events filtered by type until the loop stops', async () => {
    const id = gw.ids[0] ?? '';
    const seen: ClusterEvent[] = [];
    const controller = new AbortController();
    // The gateway subscribes a stream before its headers go out: once they are in, events flow.
    let opened: () => void = () => undefined;
    const subscribed = new Promise<void>((r) => {
      opened = r;
    });
    const watcher = new ClusterClient({
      url: gw.url,
      fetch: async (input, init) => {
        const res = await fetch(input, init);
        if (String(input).includes('/api/v1/events')) opened();
        return res;
      },
    });
    const iterate = (async () => {
      for await (const e of watcher.events({ types: ['instance.*'], signal: controller.signal })) {
        seen.push(e);
        if (e.type === 'instance.status') break;
      }
    })();
    await subscribed;
    await client.instanceAction(id, 'pause');
    try {
      await Promise.race([
        iterate,
        new Promise((_, reject) => setTimeout(() => reject(new Error('no event')), 5_000)),
      ]);
    } finally {
      controller.abort();
      await client.instanceAction(id, 'resume');
    }
    expect(seen.every((e) => e.type.startsWith('instance.'))).toBe(true);
    expect(seen.at(-1)).toMatchObject({ type: 'instance.status', data: expect.anything() });
    const bad = client.events({ types: ['no.such'] });
    await expect(bad.next()).rejects.toMatchObject({ status: 400, code: 'validation_failed' });
  });

  it('asks for the logs of an instance (a remote one has none)', async () => {
    const err = await client.instanceLogs(gw.ids[0] ?? '', { lines: 10 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClusterError);
    expect([404, 409]).toContain((err as ClusterError).status);
  });
});

// Last: while a key is active, anonymous calls are refused.
describe('ClusterClient: API keys', () => {
  it('creates a key that authenticates at once, lists without secrets, revokes', async () => {
    const made = await client.createKey({ name: 'sdk-admin', role: 'admin' });
    const admin = new ClusterClient({ url: gw.url, apiKey: made.key });
    const user = await admin.createKey({ name: 'sdk-user', role: 'user' });
    const asUser = new ClusterClient({ url: gw.url, apiKey: user.key });
    try {
      const listed = await admin.listKeys();
      expect(listed.map((k) => k.name)).toEqual(expect.arrayContaining(['sdk-admin', 'sdk-user']));
      expect(JSON.stringify(listed)).not.toContain(user.key);
      const denied = await asUser.listKeys().catch((e: unknown) => e);
      expect(denied).toBeInstanceOf(AuthError);
      expect(denied).toMatchObject({ status: 403 });
      const revoked = await admin.revokeKey(user.id);
      expect(revoked.revoked_at).not.toBeNull();
      expect((await admin.revokeKey(user.id)).revoked_at).toBe(revoked.revoked_at);
      await expect(admin.revokeKey('key_ffffffffffff')).rejects.toMatchObject({ status: 404 });
    } finally {
      await gw.keys.revoke(made.id);
      await gw.keys.revoke(user.id);
    }
  });
});
