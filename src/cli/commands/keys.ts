import path from 'node:path';
import { type Command, Option } from 'commander';
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
import { CliError, ExitCode, fail } from '../cli-error.js';

interface CommonOptions {
  dataDir?: string;
  json?: boolean;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** A key as `--json` prints it (times ISO-8601, no secret). */
function shown(record: ApiKeyRecord) {
  return {
    id: record.id,
    name: record.name,
    role: record.role,
    prefix: record.prefix,
    created_at: iso(record.created_at),
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
    const dataDir = opts.dataDir ?? defaultDataDir();
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

/**
 * `comfy-cluster keys create|list|revoke`: the gateway's API keys, worked on directly in the
 * store of the data dir (the gateway may be running). A new key is printed once.
 *
 * @example
 * // comfy-cluster keys create --role admin --name ci --json
 * registerKeysCommand(program);
 */
export function registerKeysCommand(program: Command): void {
  const keys = program
    .command('keys')
    .description('Create, list and revoke API keys (Authorization: Bearer <key>)');

  keys
    .command('create')
    .description('Create an API key and print it (it is shown only this once)')
    .addOption(
      new Option('--role <role>', 'user: submit and read own jobs; admin: everything')
        .choices([...API_KEY_ROLES])
        .makeOptionMandatory(),
    )
    .option('--name <name>', 'a label to recognise the key by')
    .option('--data-dir <dir>', 'where the database lives (env COMFY_CLUSTER_DATA_DIR)')
    .option('--json', 'print JSON')
    .action(async (opts: CommonOptions & { role: ApiKeyRole; name?: string }) => {
      if (opts.name !== undefined && (opts.name.trim() === '' || opts.name.length > 100)) {
        fail('keys create', new CliError('--name must be 1 to 100 characters', ExitCode.usage));
      }
      const created = await withKeys('create', opts, (k) =>
        k.create({ role: opts.role, name: opts.name?.trim() ?? null }),
      );
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ ...shown(created.record), key: created.key })}\n`);
        return;
      }
      const label = created.record.name ? ` "${created.record.name}"` : '';
      process.stdout.write(
        `Created ${created.record.role} key ${created.record.id}${label}:\n\n  ${created.key}\n\nStore it now: it is not shown again. Send it as: Authorization: Bearer <key>\n`,
      );
    });

  keys
    .command('list')
    .description('List API keys (never the keys themselves)')
    .option('--data-dir <dir>', 'where the database lives (env COMFY_CLUSTER_DATA_DIR)')
    .option('--json', 'print JSON')
    .action(async (opts: CommonOptions) => {
      const list = await withKeys('list', opts, (k) => k.list());
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(list.map(shown))}\n`);
        return;
      }
      if (list.length === 0) {
        process.stdout.write('no API keys yet: comfy-cluster keys create --role admin\n');
        return;
      }
      const rows = [['ID', 'NAME', 'ROLE', 'PREFIX', 'CREATED', 'LAST USED', 'REVOKED']];
      for (const r of list) {
        rows.push([
          r.id,
          r.name ?? '-',
          r.role,
          `${r.prefix}…`,
          iso(r.created_at) ?? '-',
          iso(r.last_used_at) ?? 'never',
          iso(r.revoked_at) ?? '-',
        ]);
      }
      process.stdout.write(`${table(rows)}\n`);
    });

  keys
    .command('revoke')
    .description('Revoke an API key by id (or its prefix); it stops working at once')
    .argument('<id>', 'key id (key_…) or prefix (cck_…)')
    .option('--data-dir <dir>', 'where the database lives (env COMFY_CLUSTER_DATA_DIR)')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: CommonOptions) => {
      const revoked = await withKeys('revoke', opts, (k) => k.revoke(id));
      if (!revoked) {
        fail('keys revoke', new CliError(`no API key '${id}' (see comfy-cluster keys list)`));
      }
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(shown(revoked))}\n`);
        return;
      }
      process.stdout.write(`Revoked ${revoked.id}${revoked.name ? ` "${revoked.name}"` : ''}\n`);
    });
}
