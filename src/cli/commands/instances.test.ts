/**
 * `comfy-cluster instances` and `keys` (over HTTP) as child processes against a live gateway;
 * what they changed is checked through the SDK.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterClient } from '../../client/index.js';
import { type RunningEmulator, startEmulator } from '../../emulator/index.js';
import { type CliGateway, startCliGateway } from '../testing/cli-gateway.js';
import { runCli } from '../testing/run-cli.js';

let gw: CliGateway;
let extra: RunningEmulator;
beforeAll(async () => {
  gw = await startCliGateway({ emulators: 2 });
  extra = await startEmulator({ port: 0, speed: Number.POSITIVE_INFINITY });
});
afterAll(async () => {
  await extra?.close();
  await gw?.close();
});

const cli = (...args: string[]) => runCli([...args, '--url', gw.url]);

describe('comfy-cluster instances', { timeout: 90_000 }, () => {
  it('adds, pauses, resumes, makes active, edits, tests and removes an instance', async () => {
    const client = new ClusterClient({ url: gw.url });
    const added = await cli(
      'instances',
      'add',
      extra.url,
      '--name',
      'extra',
      '--tag',
      'sdxl',
      '--json',
    );
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    const view = JSON.parse(added.stdout) as { id: string; port: number; tags: string[] };
    expect(view).toMatchObject({
      name: 'extra',
      host: '127.0.0.1',
      port: extra.port,
      tags: ['sdxl'],
    });

    const [paused, used] = await Promise.all([
      cli('instances', 'pause', 'extra'),
      cli('instances', 'use', 'extra'),
    ]);
    expect([paused.code, used.code]).toEqual([0, 0]);
    expect(paused.stdout).toBe('Paused extra: paused\n');
    expect(used.stdout).toBe(`Active instance: extra (${view.id})\n`);
    expect((await client.getInstance('extra')).status).toBe('paused');
    expect((await client.getActive())?.id).toBe(view.id);

    const [resumed, edited, list] = await Promise.all([
      cli('instances', 'resume', 'extra'),
      cli('instances', 'edit', 'extra', '--max-concurrent', '2', '--clear-tags', '--json'),
      cli('instances', 'list'),
    ]);
    expect(resumed.stdout).toBe('Resumed extra: running\n');
    expect(edited.code).toBe(0);
    // Only what was asked changed: the port stays.
    expect(JSON.parse(edited.stdout)).toMatchObject({
      max_concurrent: 2,
      tags: [],
      port: extra.port,
    });
    expect(list.stdout.split('\n')[0]).toMatch(
      /^ID\s+NAME\s+ADDRESS\s+KIND\s+STATUS\s+HEALTH\s+ENABLED\s+TAGS$/,
    );
    expect(list.stdout).toMatch(
      new RegExp(`extra \\*\\s+${extra.url.replace(/\./g, '\\.')}\\s+remote`),
    );

    const [tested, nothing, unknown, logs] = await Promise.all([
      cli('instances', 'test', 'extra'),
      cli('instances', 'edit', 'extra'),
      cli('instances', 'pause', 'nope'),
      cli('instances', 'logs', 'extra', '--lines', '5'),
    ]);
    // Only managed instances have captured output.
    expect(logs.code).toBe(1);
    expect(logs.stderr).toMatch(/^comfy-cluster instances logs: instance 'extra' is remote/);
    expect(tested.code).toBe(0);
    expect(tested.stdout).toMatch(/^ok: ComfyUI 0\.8\.0 · .* · \d+ ms\n$/);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toBe(
      'comfy-cluster instances edit: nothing to change: give at least one option (see --help)\n',
    );
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe("comfy-cluster instances pause: no instance 'nope'\n");

    const removed = await cli('instances', 'rm', 'extra');
    expect(removed.stdout).toBe(`Removed extra (${view.id})\n`);
    expect((await client.listInstances()).map((i) => i.name)).toEqual(['quick-1', 'quick-2']);
  });

  it('keys over HTTP: the first key is created, then a missing or wrong key exits 4', async () => {
    const created = await cli('keys', 'create', '--role', 'admin', '--name', 'ops', '--json');
    expect(created.code).toBe(0);
    const key = JSON.parse(created.stdout) as { id: string; key: string };
    expect(key.key).toMatch(/^cck_/);

    const [none, wrong, listed, viaEnv] = await Promise.all([
      cli('keys', 'list'),
      cli('keys', 'list', '--api-key', 'cck_wrong'),
      cli('keys', 'list', '--json', '--api-key', key.key),
      runCli(['instances', 'list', '--json'], {
        env: { COMFY_CLUSTER_URL: gw.url, COMFY_CLUSTER_API_KEY: key.key },
      }),
    ]);
    expect(none.code).toBe(4);
    expect(none.stderr).toBe(
      `comfy-cluster keys list: the gateway at ${gw.url} needs an API key — pass --api-key KEY or set COMFY_CLUSTER_API_KEY\n`,
    );
    expect(wrong.code).toBe(4);
    expect(wrong.stderr).toBe(
      `comfy-cluster keys list: the gateway at ${gw.url} refused the API key (revoked or mistyped?) — check --api-key or COMFY_CLUSTER_API_KEY\n`,
    );
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({ id: key.id, name: 'ops', role: 'admin', revoked_at: null }),
    ]);
    expect(listed.stdout).not.toContain(key.key);
    expect(viaEnv.code).toBe(0);
    expect(JSON.parse(viaEnv.stdout)).toHaveLength(2);

    const user = await cli('keys', 'create', '--role', 'user', '--api-key', key.key);
    expect(user.stdout).toMatch(/^Created user key key_\w+ "cli [\d-]+T[\d:]+":\n\n {2}cck_\S+\n/);
    const userKey = /\n {2}(cck_\S+)\n/.exec(user.stdout)?.[1] as string;
    const [forbidden, revoked] = await Promise.all([
      cli('keys', 'list', '--api-key', userKey),
      cli('keys', 'revoke', key.id, '--api-key', key.key),
    ]);
    expect(forbidden.code).toBe(4);
    expect(forbidden.stderr).toMatch(
      /^comfy-cluster keys list: the API key may not do this .*admin key/,
    );
    expect(revoked.stdout).toBe(`Revoked ${key.id} "ops"\n`);
  });
});
