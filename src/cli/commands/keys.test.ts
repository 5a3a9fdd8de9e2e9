/** `comfy-cluster keys --data-dir` as child processes on a temp data dir (over HTTP: remote.test.ts). */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { apiKeyRepository, openStore, STORE_FILE_NAME } from '../../store/index.js';

const entry = fileURLToPath(new URL('../main.ts', import.meta.url));

let dir: string;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

function keys(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', entry, 'keys', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('comfy-cluster keys', () => {
  it('creates (printing the key once), lists and revokes keys in the data dir', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'cc-keys-cli-'));
    const created = await keys([
      'create',
      '--role',
      'admin',
      '--name',
      'ci',
      '--json',
      '--data-dir',
      dir,
    ]);
    expect(created.code).toBe(0);
    const key = JSON.parse(created.stdout) as {
      id: string;
      key: string;
      role: string;
      prefix: string;
    };
    expect(key).toMatchObject({ role: 'admin', key: expect.stringMatching(/^cck_/) });

    // The printed key authenticates against the store.
    const store = await openStore({
      kind: 'sqlite',
      file: path.join(dir, STORE_FILE_NAME),
      migrate: false,
    });
    await store.migrate();
    expect((await apiKeyRepository(store).authenticate(key.key))?.id).toBe(key.id);
    await store.close();

    // --data-dir without a value: the default data dir (here from COMFY_CLUSTER_DATA_DIR).
    const human = await keys(['create', '--role', 'user', '--data-dir'], {
      COMFY_CLUSTER_DATA_DIR: dir,
    });
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/Created user key key_[0-9a-f]+:\n\n {2}cck_\S+\n\nStore it now/);

    const listed = await keys(['list', '--json', '--data-dir', dir]);
    const list = JSON.parse(listed.stdout) as Record<string, unknown>[];
    expect(list).toHaveLength(2);
    expect(listed.stdout).not.toContain(key.key);
    expect(list.find((k) => k.id === key.id)).toMatchObject({
      name: 'ci',
      role: 'admin',
      prefix: key.prefix,
      revoked_at: null,
      last_used_at: null,
      created_at: expect.stringMatching(/^\d{4}-/),
    });
    const table = await keys(['list', '--data-dir', dir]);
    expect(table.stdout.split('\n')[0]).toMatch(
      /^ID\s+NAME\s+ROLE\s+PREFIX\s+CREATED\s+LAST USED\s+REVOKED$/,
    );
    expect(table.stdout).toContain(key.id);

    const revoked = await keys(['revoke', key.id, '--data-dir', dir]);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toBe(`Revoked ${key.id} "ci"\n`);
    const check = await openStore({
      kind: 'sqlite',
      file: path.join(dir, STORE_FILE_NAME),
      migrate: false,
    });
    const repo = apiKeyRepository(check);
    expect(await repo.authenticate(key.key)).toBeUndefined();
    expect((await repo.find(key.id))?.revoked_at).toEqual(expect.any(Number));
    await check.close();
  });

  it('fails clearly: unknown id (exit 1), bad or missing role (exit 2)', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'cc-keys-cli-'));
    const [unknown, badRole] = await Promise.all([
      keys(['revoke', 'key_nothere', '--data-dir', dir]),
      keys(['create', '--role', 'root', '--data-dir', dir]),
    ]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe(
      "comfy-cluster keys revoke: no API key 'key_nothere' (see comfy-cluster keys list)\n",
    );
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toContain('Allowed choices are user, admin');
  });
});
