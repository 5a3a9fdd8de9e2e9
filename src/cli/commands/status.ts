import { type Command, Option } from 'commander';
import type { ClusterClient, InstanceView, JobView } from '../../client/index.js';
import { CliError, describeError, ExitCode } from '../cli-error.js';
import { printJson, table } from '../output.js';
import {
  example,
  parseWhole,
  type RemoteOptions,
  runRemote,
  withRemoteOptions,
} from '../remote-options.js';
import { watch } from '../watch.js';

interface StatusOptions extends RemoteOptions {
  watch?: boolean;
  interval: string;
  watchCount?: string;
}

/** One instance as `status` shows it (the order of the keys is the `--json` order). */
export interface InstanceStatusRow {
  id: string;
  name: string;
  address: string;
  kind: InstanceView['kind'];
  status: InstanceView['status'];
  health: string;
  active: boolean;
  /** Prompts waiting: on the instance, plus gateway jobs pinned to it. */
  queue: number;
  /** Jobs running on it. */
  processing: number;
  /** Latency of the last health check. */
  response_ms: number | null;
  last_error: string | null;
}

/** What `status --json` prints. */
export interface FleetStatus {
  url: string;
  instances: InstanceStatusRow[];
  summary: {
    instances: number;
    healthy: number;
    jobs_pending: number;
    jobs_processing: number;
    /** The job counts stopped at a page of 500: there are at least that many. */
    jobs_counts_capped: boolean;
  };
}

const COUNT_PAGE = 500;

/** Jobs of a status, up to one page (enough for a status line). */
async function jobsWith(client: ClusterClient, status: 'pending' | 'processing') {
  const page = await client.listJobs({ status: [status], limit: COUNT_PAGE });
  return { jobs: page.jobs, capped: page.next_cursor !== null };
}

function row(instance: InstanceView, pendingPins: Map<string, number>): InstanceStatusRow {
  const q = instance.figures?.instance_queue ?? null;
  const inFlight = instance.figures?.in_flight ?? 0;
  return {
    id: instance.id,
    name: instance.name,
    address: `${instance.tls ? 'https' : 'http'}://${instance.host}:${instance.port}`,
    kind: instance.kind,
    status: instance.status,
    health: instance.health ?? 'unknown',
    active: instance.active,
    queue: (q?.pending ?? 0) + (pendingPins.get(instance.id) ?? 0),
    processing: q?.running ?? inFlight,
    response_ms: instance.health_details?.latency_ms ?? null,
    last_error: instance.health_details?.last_error ?? null,
  };
}

/**
 * The fleet as one snapshot: each instance with its queue, work in hand and response time, and
 * the gateway's own job counts.
 *
 * @example
 * const status = await fleetStatus(client, 'http://127.0.0.1:8190');
 */
export async function fleetStatus(client: ClusterClient, url: string): Promise<FleetStatus> {
  const [instances, pending, processing] = await Promise.all([
    client.listInstances(),
    jobsWith(client, 'pending'),
    jobsWith(client, 'processing'),
  ]);
  const pins = new Map<string, number>();
  for (const job of pending.jobs as JobView[]) {
    if (job.pin) pins.set(job.pin, (pins.get(job.pin) ?? 0) + 1);
  }
  const rows = instances.map((i) => row(i, pins));
  return {
    url,
    instances: rows,
    summary: {
      instances: rows.length,
      healthy: rows.filter((r) => r.health === 'healthy').length,
      jobs_pending: pending.jobs.length,
      jobs_processing: processing.jobs.length,
      jobs_counts_capped: pending.capped || processing.capped,
    },
  };
}

/**
 * The status table, like the seed's server panel: name, status, health, queue, processing,
 * response time, then one summary line.
 *
 * @example
 * process.stdout.write(renderStatus(await fleetStatus(client, url)));
 */
export function renderStatus(status: FleetStatus): string {
  const plus = status.summary.jobs_counts_capped ? '+' : '';
  const summary = `${status.summary.jobs_pending}${plus} pending, ${status.summary.jobs_processing}${plus} processing · healthy ${status.summary.healthy}/${status.summary.instances} · ${status.url}`;
  if (status.instances.length === 0) {
    return `no instances yet: comfy-cluster instances add http://HOST:8188\n${summary}\n`;
  }
  const rows = status.instances.map((r) => [
    `${r.name}${r.active ? ' *' : ''}`,
    r.status,
    r.health,
    String(r.queue),
    String(r.processing),
    r.response_ms === null ? '-' : `${Math.round(r.response_ms)} ms`,
  ]);
  return `${table(
    [
      { header: 'name' },
      { header: 'status' },
      { header: 'health' },
      { header: 'queue', align: 'right' },
      { header: 'processing', align: 'right' },
      { header: 'response time', align: 'right' },
    ],
    rows,
  )}\n\n${summary}\n`;
}

/**
 * `comfy-cluster status [--watch]`: the fleet at a glance, from a local or remote gateway.
 *
 * @example
 * // comfy-cluster status --url http://gpu-gateway:8190 --watch
 * registerStatusCommand(program);
 */
export function registerStatusCommand(program: Command): void {
  withRemoteOptions(
    program
      .command('status')
      .description(
        'Show the fleet: each instance with its status, health, queue and response time',
      ),
  )
    .option('-w, --watch', 'refresh until Ctrl-C')
    .option('--interval <seconds>', 'seconds between refreshes with --watch', '2')
    .addOption(new Option('--watch-count <n>', 'stop after n refreshes').hideHelp())
    .addHelpText(
      'after',
      example(
        'comfy-cluster status',
        'comfy-cluster status --watch --interval 5',
        'comfy-cluster status --json --url http://gpu-gateway:8190 | jq ".instances[].health"',
      ),
    )
    .action((opts: StatusOptions) =>
      runRemote('status', opts, async ({ client, url, json, context }) => {
        if (!opts.watch && opts.watchCount === undefined) {
          const status = await fleetStatus(client, url);
          if (json) printJson(status);
          else process.stdout.write(renderStatus(status));
          return undefined;
        }
        const seconds = Number(opts.interval);
        if (!Number.isFinite(seconds) || seconds < 0.2 || seconds > 3600) {
          throw new CliError(
            `--interval must be a number of seconds from 0.2 to 3600 (got "${opts.interval}")`,
            ExitCode.usage,
          );
        }
        const count =
          opts.watchCount === undefined
            ? undefined
            : parseWhole('--watch-count', opts.watchCount, 1, 1_000_000);
        const lastError = await watch({
          intervalMs: seconds * 1000,
          ...(count === undefined ? {} : { count }),
          // With --json, one JSON document a refresh (JSON lines), never a cleared screen.
          ...(json ? { tty: false, header: false } : {}),
          render: async () => {
            const status = await fleetStatus(client, url);
            return json ? JSON.stringify(status) : renderStatus(status).trimEnd();
          },
          describeError: (err) => describeError(err, context),
        });
        if (lastError !== undefined) throw lastError;
        return undefined;
      }),
    );
}
