import type { Command } from 'commander';
import type {
  ConnectionTestResult,
  InstanceAuth,
  InstanceCreate,
  InstanceDetail,
  InstanceUpdate,
  InstanceView,
} from '../../client/index.js';
import { CliError, ExitCode } from '../cli-error.js';
import { formatAge, formatBytes, printJson, printLine, shortId, table } from '../output.js';
import {
  example,
  parseWhole,
  type RemoteOptions,
  runRemote,
  withRemoteOptions,
} from '../remote-options.js';

/** Flags that describe an instance, shared by `add` and `edit`. */
interface InstanceFlags extends RemoteOptions {
  name?: string;
  description?: string;
  maxConcurrent?: string;
  prefetch?: string;
  priority?: string;
  jobTimeout?: string;
  tag?: string[];
  clearTags?: boolean;
  bearer?: string;
  basic?: string;
  header?: string;
  /** false with --no-auth (commander's negatable option). */
  auth?: boolean;
  managed?: boolean;
  gpu?: string;
  autoStart?: boolean;
  enable?: boolean;
  disable?: boolean;
  address?: string;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/**
 * Splits an instance address (`http://host:8188`, `https://host`, `host:port`, `host`) into
 * the fields the gateway takes.
 *
 * @example
 * parseAddress('https://gpu-1.lan:8443'); // { host: 'gpu-1.lan', port: 8443, tls: true }
 */
export function parseAddress(text: string): { host: string; port?: number; tls: boolean } {
  const raw = text.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new CliError(
      `"${text}" is not an instance address: use http://HOST:PORT (e.g. http://127.0.0.1:8188)`,
      ExitCode.usage,
    );
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    throw new CliError(
      `"${text}" is not an instance address: use http://HOST:PORT (e.g. http://127.0.0.1:8188)`,
      ExitCode.usage,
    );
  }
  if (url.pathname !== '/' || url.search !== '') {
    throw new CliError(
      `"${text}": an instance address has no path — use http://HOST:PORT`,
      ExitCode.usage,
    );
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const tls = url.protocol === 'https:';
  // An explicit port, or none: the gateway's default (8188) applies to plain addresses.
  const explicit = url.port !== '' || /:\d+$/.test(raw.replace(/\/$/, ''));
  const port = url.port !== '' ? Number(url.port) : explicit ? (tls ? 443 : 80) : undefined;
  return { host, ...(port === undefined ? {} : { port }), tls };
}

function parseAuth(opts: InstanceFlags): InstanceAuth | undefined {
  const given = [opts.bearer, opts.basic, opts.header].filter((v) => v !== undefined).length;
  if (given > 1) {
    throw new CliError('give one of --bearer, --basic, --header', ExitCode.usage);
  }
  if (opts.bearer !== undefined) return { type: 'bearer', token: opts.bearer };
  if (opts.basic !== undefined) {
    const at = opts.basic.indexOf(':');
    if (at <= 0) throw new CliError('--basic takes USER:PASSWORD', ExitCode.usage);
    return { type: 'basic', username: opts.basic.slice(0, at), password: opts.basic.slice(at + 1) };
  }
  if (opts.header !== undefined) {
    const at = opts.header.indexOf(':');
    if (at <= 0) throw new CliError('--header takes NAME:VALUE', ExitCode.usage);
    return {
      type: 'header',
      name: opts.header.slice(0, at).trim(),
      value: opts.header.slice(at + 1).trim(),
    };
  }
  return undefined;
}

/** The fields both `add` and `edit` set from flags. */
function fieldsFrom(opts: InstanceFlags): InstanceUpdate {
  const fields: InstanceUpdate = {};
  if (opts.name !== undefined) fields.name = opts.name;
  if (opts.description !== undefined) fields.description = opts.description;
  if (opts.maxConcurrent !== undefined) {
    fields.max_concurrent = parseWhole('--max-concurrent', opts.maxConcurrent, 1, 64);
  }
  if (opts.prefetch !== undefined) fields.prefetch = parseWhole('--prefetch', opts.prefetch, 0, 64);
  if (opts.priority !== undefined) {
    const n = Number(opts.priority);
    if (!/^-?\d+$/.test(opts.priority.trim()) || n < -1000 || n > 1000) {
      throw new CliError(
        `--priority must be a whole number from -1000 to 1000 (got "${opts.priority}")`,
        ExitCode.usage,
      );
    }
    fields.priority = n;
  }
  if (opts.jobTimeout !== undefined) {
    fields.timeout_ms = parseWhole('--job-timeout', opts.jobTimeout, 1, 86_400) * 1000;
  }
  if (opts.tag !== undefined) fields.tags = opts.tag;
  else if (opts.clearTags) fields.tags = [];
  if (opts.gpu !== undefined) fields.gpu_device = opts.gpu;
  if (opts.autoStart !== undefined) fields.auto_start = opts.autoStart;
  if (opts.enable && opts.disable) {
    throw new CliError('give --enable or --disable, not both', ExitCode.usage);
  }
  if (opts.enable) fields.enabled = true;
  if (opts.disable) fields.enabled = false;
  const auth = parseAuth(opts);
  if (auth !== undefined) fields.auth = auth;
  else if (opts.auth === false) fields.auth = null;
  return fields;
}

/** Options of `add` and `edit`. */
function withInstanceFlags(command: Command, adding: boolean): Command {
  command
    .option('--name <name>', 'a name to refer to it by')
    .option('--description <text>', 'a note shown beside it')
    .option('--max-concurrent <n>', 'prompts it runs at once (default 1)')
    .option('--prefetch <n>', 'prompts queued on it ahead (default 1)')
    .option('--priority <n>', 'placement preference, lower first (1 = first choice)')
    .option('--job-timeout <seconds>', 'a job running longer is interrupted (default 300)')
    .option('--tag <tag>', 'a tag (repeat for several; replaces the list)', collect)
    .option('--bearer <token>', 'ComfyUI behind a proxy: send Authorization: Bearer <token>')
    .option('--basic <user:password>', 'ComfyUI behind a proxy: HTTP basic auth')
    .option('--header <name:value>', 'ComfyUI behind a proxy: send this header')
    .option('--gpu <device>', 'managed: the CUDA device index it runs on')
    .option('--auto-start', 'managed: start it with the gateway');
  if (adding) {
    command
      .option('--managed', 'started and supervised by the gateway (on the gateway host)')
      .option('--disable', 'add it disabled (takes no jobs)');
  } else {
    command
      .option('--address <url>', 'move it to another address (http://HOST:PORT)')
      .option('--clear-tags', 'remove every tag')
      .option('--no-auth', 'remove its credentials')
      .option('--enable', 'take jobs again')
      .option('--disable', 'take no jobs');
  }
  return command;
}

function address(i: InstanceView): string {
  const host = i.host.includes(':') ? `[${i.host}]` : i.host;
  return `${i.tls ? 'https' : 'http'}://${host}:${i.port}`;
}

function renderList(list: InstanceView[]): string {
  if (list.length === 0) return 'no instances yet: comfy-cluster instances add http://HOST:8188';
  return table(
    [
      { header: 'id' },
      { header: 'name' },
      { header: 'address' },
      { header: 'kind' },
      { header: 'status' },
      { header: 'health' },
      { header: 'enabled' },
      { header: 'tags' },
    ],
    list.map((i) => [
      shortId(i.id),
      `${i.name}${i.active ? ' *' : ''}`,
      address(i),
      i.kind,
      i.status,
      i.health ?? 'unknown',
      i.enabled ? 'yes' : 'no',
      i.tags.join(',') || '-',
    ]),
  );
}

function renderDetail(i: InstanceDetail): string {
  const h = i.health_details;
  const r = i.report;
  const fields: [string, string][] = [
    ['id', i.id],
    ['name', `${i.name}${i.active ? ' (active)' : ''}`],
    ['address', address(i)],
    ['kind', i.kind + (i.gpu_device === null ? '' : ` (GPU ${i.gpu_device})`)],
    ['status', i.status + (i.status_reason ? ` — ${i.status_reason}` : '')],
    ['health', `${i.health ?? 'unknown'}${h?.reasons.length ? ` (${h.reasons.join(', ')})` : ''}`],
    ['response time', h?.latency_ms == null ? '-' : `${Math.round(h.latency_ms)} ms`],
    ['ComfyUI', h?.comfyui_version ?? '-'],
    [
      'VRAM free',
      h?.vram_free == null ? '-' : `${formatBytes(h.vram_free)} of ${formatBytes(h.vram_total)}`,
    ],
    ['enabled', i.enabled ? 'yes' : 'no'],
    ['slots', `${i.max_concurrent} running + ${i.prefetch} queued`],
    ['priority', String(i.priority)],
    ['tags', i.tags.join(', ') || '-'],
    ['auth', i.auth ? i.auth.type : 'none'],
    [
      'jobs',
      i.figures
        ? `${i.figures.jobs_total} (${i.figures.jobs_succeeded} ok, ${i.figures.jobs_failed} failed), ${i.figures.in_flight} in flight`
        : '-',
    ],
    ['last check', formatAge(h?.checked_at)],
    ['last error', h?.last_error ?? r?.last_error ?? '-'],
  ];
  return table(
    [{ header: '' }, { header: '' }],
    fields.map(([k, v]) => [`${k}:`, v]),
  )
    .split('\n')
    .slice(1)
    .join('\n');
}

function renderTest(result: ConnectionTestResult): string {
  if (!result.ok) {
    return `failed (${result.kind}${result.status ? ` ${result.status}` : ''}): ${result.message}`;
  }
  const devices = result.devices.map((d) => d.name).join(', ') || 'no devices';
  return `ok: ComfyUI ${result.comfyui_version} · ${devices} · ${Math.round(result.round_trip_ms)} ms`;
}

/**
 * `comfy-cluster instances list|show|add|rm|edit|test|start|stop|pause|resume|use|logs`: the
 * fleet, managed on a local or remote gateway. Instances are named by id, name or `active`.
 *
 * @example
 * // comfy-cluster instances add http://10.0.0.5:8188 --name gpu-5 --tag sdxl
 * registerInstancesCommand(program);
 */
export function registerInstancesCommand(program: Command): void {
  const instances = program
    .command('instances')
    .description('List, add, edit, remove, test, start, stop, pause and resume instances')
    .addHelpText(
      'after',
      example(
        'comfy-cluster instances list',
        'comfy-cluster instances add http://10.0.0.5:8188 --name gpu-5',
      ),
    );

  withRemoteOptions(instances.command('list').alias('ls').description('List the instances'))
    .addHelpText('after', example('comfy-cluster instances list --json'))
    .action((opts: RemoteOptions) =>
      runRemote('instances list', opts, async ({ client, json }) => {
        const list = await client.listInstances();
        if (json) printJson(list);
        else printLine(renderList(list));
        return undefined;
      }),
    );

  withRemoteOptions(
    instances
      .command('show')
      .description("One instance in detail, with the health monitor's report")
      .argument('<instance>', 'id, name or "active"'),
  )
    .addHelpText('after', example('comfy-cluster instances show gpu-1'))
    .action((ref: string, opts: RemoteOptions) =>
      runRemote('instances show', opts, async ({ client, json }) => {
        const detail = await client.getInstance(ref);
        if (json) printJson(detail);
        else printLine(renderDetail(detail));
        return undefined;
      }),
    );

  withInstanceFlags(
    withRemoteOptions(
      instances
        .command('add')
        .description('Add a ComfyUI server to the fleet (saved to the config file)')
        .argument('<address>', 'http://HOST:PORT of the ComfyUI server'),
    ),
    true,
  )
    .addHelpText(
      'after',
      example(
        'comfy-cluster instances add http://10.0.0.5:8188 --name gpu-5 --tag sdxl',
        'comfy-cluster instances add 127.0.0.1:8189 --managed --gpu 1',
      ),
    )
    .action((addr: string, opts: InstanceFlags) =>
      runRemote('instances add', opts, async ({ client, json }) => {
        const body: InstanceCreate = {
          ...(fieldsFrom(opts) as Omit<InstanceCreate, 'host'>),
          ...parseAddress(addr),
          ...(opts.managed ? { kind: 'managed' as const } : {}),
        };
        const added = await client.addInstance(body);
        if (json) printJson(added);
        else printLine(`Added ${added.name} (${added.id}) at ${address(added)}`);
        return undefined;
      }),
    );

  withInstanceFlags(
    withRemoteOptions(
      instances
        .command('edit')
        .description('Change some settings of an instance')
        .argument('<instance>', 'id, name or "active"'),
    ),
    false,
  )
    .addHelpText(
      'after',
      example(
        'comfy-cluster instances edit gpu-5 --max-concurrent 2 --tag sdxl --tag video',
        'comfy-cluster instances edit gpu-5 --address http://10.0.0.6:8188',
      ),
    )
    .action((ref: string, opts: InstanceFlags) =>
      runRemote('instances edit', opts, async ({ client, json }) => {
        const fields = fieldsFrom(opts);
        if (opts.address !== undefined) Object.assign(fields, parseAddress(opts.address));
        if (Object.keys(fields).length === 0) {
          throw new CliError(
            'nothing to change: give at least one option (see --help)',
            ExitCode.usage,
          );
        }
        // Only the fields given: a PATCH leaves the others as they are on the gateway.
        const current = await client.getInstance(ref);
        const updated = await client.updateInstance(current.id, fields);
        if (json) printJson(updated);
        else printLine(`Updated ${updated.name} (${updated.id})`);
        return undefined;
      }),
    );

  withRemoteOptions(
    instances
      .command('rm')
      .alias('remove')
      .description('Remove instances from the fleet (a running managed one must be stopped)')
      .argument('<instances...>', 'ids or names'),
  )
    .addHelpText('after', example('comfy-cluster instances rm gpu-5'))
    .action((refs: string[], opts: RemoteOptions) =>
      runRemote('instances rm', opts, async ({ client, json }) => {
        const removed: { id: string; name: string }[] = [];
        for (const ref of refs) {
          const view = await client.getInstance(ref);
          await client.removeInstance(view.id);
          removed.push({ id: view.id, name: view.name });
          if (!json) printLine(`Removed ${view.name} (${view.id})`);
        }
        if (json) printJson(removed);
        return undefined;
      }),
    );

  withRemoteOptions(
    instances
      .command('test')
      .description('Test the connection to an instance: ComfyUI version, devices, round trip')
      .argument('<instance>', 'id, name or "active"'),
  )
    .addHelpText('after', example('comfy-cluster instances test gpu-5'))
    .action((ref: string, opts: RemoteOptions) =>
      runRemote('instances test', opts, async ({ client, json }) => {
        const result = await client.testInstance(ref);
        if (json) printJson(result);
        else printLine(renderTest(result));
        return result.ok ? ExitCode.ok : ExitCode.failed;
      }),
    );

  const actions = [
    ['start', 'Start managed instances (remote ones: take jobs again)', 'Started'],
    ['stop', 'Stop managed instances (remote ones: take no jobs)', 'Stopped'],
    ['pause', 'Drain: finish what runs, take nothing new', 'Paused'],
    ['resume', 'Take jobs again after a pause', 'Resumed'],
  ] as const;
  for (const [action, description, done] of actions) {
    withRemoteOptions(
      instances.command(action).description(description).argument('<instances...>', 'ids or names'),
    )
      .addHelpText('after', example(`comfy-cluster instances ${action} gpu-1 gpu-2`))
      .action((refs: string[], opts: RemoteOptions) =>
        runRemote(`instances ${action}`, opts, async ({ client, json }) => {
          const results: InstanceView[] = [];
          for (const ref of refs) {
            const view = await client.instanceAction(ref, action);
            results.push(view);
            if (!json) printLine(`${done} ${view.name}: ${view.status}`);
          }
          if (json) printJson(results);
          return undefined;
        }),
      );
  }

  withRemoteOptions(
    instances
      .command('use')
      .description(
        'Make an instance the active one (what "active" and drop-in clients pinned to it mean)',
      )
      .argument('<instance>', 'id or name'),
  )
    .addHelpText('after', example('comfy-cluster instances use gpu-2'))
    .action((ref: string, opts: RemoteOptions) =>
      runRemote('instances use', opts, async ({ client, json }) => {
        const active = await client.setActive(ref);
        if (json) printJson({ active });
        else
          printLine(
            active ? `Active instance: ${active.name} (${active.id})` : 'No active instance',
          );
        return undefined;
      }),
    );

  withRemoteOptions(
    instances
      .command('logs')
      .description("The last lines of a managed instance's output")
      .argument('<instance>', 'id or name')
      .option('-n, --lines <n>', 'how many lines', '200'),
  )
    .addHelpText('after', example('comfy-cluster instances logs gpu-0 --lines 50'))
    .action((ref: string, opts: RemoteOptions & { lines: string }) =>
      runRemote('instances logs', opts, async ({ client, json }) => {
        const lines = parseWhole('--lines', opts.lines, 1, 10_000);
        const logs = await client.instanceLogs(ref, { lines });
        if (json) printJson(logs);
        else if (logs.lines.length > 0) printLine(logs.lines.join('\n'));
        return undefined;
      }),
    );
}
