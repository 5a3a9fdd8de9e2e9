import path from 'node:path';
import { type Command, Option } from 'commander';
import {
  type ApiKeyView,
  type ClusterClient,
  GatewayUnreachableError,
} from '../../client/index.js';
import {
  API_KEY_ROLES,
  type ApiKeyRecord,
  type ApiKeyRepository,
  type ApiKeyRole,
  apiKeyRepository,
  defaultDataDir,
  openStore,
  STORE_FILE_NAME,
} from '../../store/index.js';
import { CliError, describeError, ExitCode, fail } from '../cli-error.js';
import { printJson } from '../output.js';
import { example, type RemoteOptions, runRemote, withRemoteOptions } from '../remote-options.js';

interface CommonOptions extends RemoteOptions {
  /** A folder, or true for the default data dir (`--data-dir` without a value). */
  dataDir?: string | true;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** A key as `--json` prints it (times ISO-8601, no secret): the gateway's own shape. */
function shown(record: ApiKeyRecord): ApiKeyView {
  return {
    id: record.id,
    name: record.name,
    role: record.role,
    prefix: record.prefix,
    created_at: new Date(record.created_at).toISOString(),
    last_used_at: iso(record.last_used_at),
    revoked_at: iso(record.revoked_at),
  };
}

/** Opens the store of the data dir, runs `work` on its keys, closes it; failures end the process. */
async function withKeys<T>(
  command: string,
  opts: CommonOptions,
  work: (keys: ApiKeyRepository) => Promise<T>,
): Promise<T> {
  let store: Awaited<ReturnType<typeof openStore>> | undefined;
  try {
    const dataDir = typeof opts.dataDir === 'string' ? opts.dataDir : defaultDataDir();
    store = await openStore({
      kind: 'sqlite',
      file: path.join(dataDir, STORE_FILE_NAME),
      migrate: false,
    });
    await store.migrate();
    const result = await work(apiKeyRepository(store));
    await store.close();
    return result;
  } catch (err) {
    await store?.close();
    return fail(`keys ${command}`, err);
  }
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function printCreated(created: ApiKeyView & { key: string }, json: boolean): void {
  if (json) {
    printJson(created);
    return;
  }
  const label = created.name ? ` "${created.name}"` : '';
  process.stdout.write(
    `Created ${created.role} key ${created.id}${label}:\n\n  ${created.key}\n\nStore it now: it is not shown again. Send it as: Authorization: Bearer <key> (CLI: --api-key or COMFY_CLUSTER_API_KEY)\n`,
  );
}

function printList(list: ApiKeyView[], json: boolean): void {
  if (json) {
    printJson(list);
    return;
  }
  if (list.length === 0) {
    process.stdout.write('no API keys yet: comfy-cluster keys create --role admin --data-dir\n');
    return;
  }
  const rows = [['ID', 'NAME', 'ROLE', 'PREFIX', 'CREATED', 'LAST USED', 'REVOKED']];
  for (const r of list) {
    rows.push([
      r.id,
      r.name ?? '-',
      r.role,
      `${r.prefix}…`,
      r.created_at,
      r.last_used_at ?? 'never',
      r.revoked_at ?? '-',
    ]);
  }
  process.stdout.write(`${table(rows)}\n`);
}

function printRevoked(revoked: ApiKeyView, json: boolean): void {
  if (json) printJson(revoked);
  else process.stdout.write(`Revoked ${revoked.id}${revoked.name ? ` "${revoked.name}"` : ''}\n`);
}

/** A key id from an id, a prefix (`cck_1234abcd`) or the whole key, on a remote gateway. */
async function remoteKeyId(client: ClusterClient, ref: string): Promise<string> {
  if (ref.startsWith('key_')) return ref;
  const match = (await client.listKeys()).find(
    (k) => ref === k.prefix || (ref.startsWith(k.prefix) && ref.length > k.prefix.length),
  );
  if (!match) throw new CliError(`no API key '${ref}' (see comfy-cluster keys list)`);
  return match.id;
}

/**
 * Runs a key command through the gateway; an unreachable gateway's message adds that a data dir
 * can be worked on directly (the first key of a gateway that is not running yet).
 */
function runKeysRemote(
  name: string,
  opts: CommonOptions,
  work: (client: ClusterClient, json: boolean) => Promise<void>,
): Promise<never> {
  return runRemote(name, opts, async ({ client, json, context }) => {
    try {
      await work(client, json);
    } catch (err) {
      if (!(err instanceof GatewayUnreachableError)) throw err;
      throw new CliError(
        `${describeError(err, context)}; without a gateway, work on its data dir: --data-dir [DIR]`,
        ExitCode.unreachable,
      );
    }
    return undefined;
  });
}

const DATA_DIR_HELP =
  'work on the keys in this data dir directly, not through the gateway (no value: the default, env COMFY_CLUSTER_DATA_DIR); needed for the first key of a gateway that requires one';

/**
 * `comfy-cluster keys create|list|revoke`: the gateway's API keys, through the gateway (admin
 * key), or with `--data-dir` directly in the store of a data dir (the gateway may be running or
 * not: that is how the first admin key is made). A new key is printed once.
 *
 * @example
 * // comfy-cluster keys create --role admin --name ci --json
 * registerKeysCommand(program);
 */
export function registerKeysCommand(program: Command): void {
  const keys = program
    .command('keys')
    .description('Create, list and revoke API keys (Authorization: Bearer <key>)')
    .addHelpText(
      'after',
      example(
        'comfy-cluster keys create --role admin --name ops --data-dir   # first key, before serve',
        'comfy-cluster keys list --url http://gpu-gateway:8190 --api-key cck_...',
      ),
    );

  withRemoteOptions(
    keys
      .command('create')
      .description('Create an API key and print it (it is shown only this once)')
      .addOption(
        new Option('--role <role>', 'user: submit and read own jobs; admin: everything')
          .choices([...API_KEY_ROLES])
          .makeOptionMandatory(),
      )
      .option('--name <name>', 'a label to recognise the key by')
      .option('--data-dir [dir]', DATA_DIR_HELP),
  )
    .addHelpText(
      'after',
      example(
        'comfy-cluster keys create --role user --name nuke-artists',
        'comfy-cluster keys create --role admin --data-dir /var/lib/comfy-cluster',
      ),
    )
    .action(async (opts: CommonOptions & { role: ApiKeyRole; name?: string }) => {
      if (opts.name !== undefined && (opts.name.trim() === '' || opts.name.length > 100)) {
        fail('keys create', new CliError('--name must be 1 to 100 characters', ExitCode.usage));
      }
      if (opts.dataDir === undefined) {
        return runKeysRemote('keys create', opts, async (client, json) => {
          const name = opts.name?.trim() ?? `cli ${new Date().toISOString().slice(0, 19)}`;
          printCreated(await client.createKey({ name, role: opts.role }), json);
        });
      }
      const created = await withKeys('create', opts, (k) =>
        k.create({ role: opts.role, name: opts.name?.trim() ?? null }),
      );
      printCreated({ ...shown(created.record), key: created.key }, opts.json === true);
    });

  withRemoteOptions(
    keys
      .command('list')
      .description('List API keys (never the keys themselves)')
      .option('--data-dir [dir]', DATA_DIR_HELP),
  )
    .addHelpText('after', example('comfy-cluster keys list', 'comfy-cluster keys list --json'))
    .action(async (opts: CommonOptions) => {
      if (opts.dataDir === undefined) {
        return runKeysRemote('keys list', opts, async (client, json) => {
          printList(await client.listKeys(), json);
        });
      }
      const list = await withKeys('list', opts, (k) => k.list());
      printList(list.map(shown), opts.json === true);
    });

  withRemoteOptions(
    keys
      .command('revoke')
      .description('Revoke an API key by id (or its prefix); it stops working at once')
      .argument('<id>', 'key id (key_…) or prefix (cck_…)')
      .option('--data-dir [dir]', DATA_DIR_HELP),
  )
    .addHelpText('after', example('comfy-cluster keys revoke key_0123456789ab'))
    .action(async (id: string, opts: CommonOptions) => {
      if (opts.dataDir === undefined) {
        return runKeysRemote('keys revoke', opts, async (client, json) => {
          printRevoked(await client.revokeKey(await remoteKeyId(client, id)), json);
        });
      }
      const revoked = await withKeys('revoke', opts, (k) => k.revoke(id));
      if (!revoked) {
        fail('keys revoke', new CliError(`no API key '${id}' (see comfy-cluster keys list)`));
      }
      printRevoked(shown(revoked), opts.json === true);
    });
}
