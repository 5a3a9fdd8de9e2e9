import type { Command } from 'commander';
import {
  type ClusterClient,
  JOB_STATUSES,
  type JobQuery,
  type JobStatus,
  type JobView,
} from '../../client/index.js';
import { CliError, describeError, ExitCode, exitCodeOf } from '../cli-error.js';
import { failureLine, failureReason, followJobs, InstanceNames } from '../job-follower.js';
import {
  formatAge,
  formatBytes,
  formatDuration,
  printJson,
  printLine,
  shortId,
  table,
} from '../output.js';
import { ProgressDisplay } from '../progress.js';
import {
  example,
  parseWhole,
  type RemoteOptions,
  runRemote,
  withRemoteOptions,
} from '../remote-options.js';

interface ListOptions extends RemoteOptions {
  status?: string;
  instance?: string;
  template?: string;
  limit: string;
  cursor?: string;
}

const FINISHED = new Set(['completed', 'failed', 'cancelled']);

function parseStatuses(text: string): JobStatus[] {
  const list = text
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
  for (const s of list) {
    if (!(JOB_STATUSES as readonly string[]).includes(s)) {
      throw new CliError(
        `--status takes ${JOB_STATUSES.join(', ')} (comma-separated); got "${s}"`,
        ExitCode.usage,
      );
    }
  }
  return list as JobStatus[];
}

function progressCell(job: JobView): string {
  if (job.status !== 'processing') return '-';
  const p = job.progress;
  const parts = [job.phase ?? 'processing'];
  if (p?.node) parts.push(`node ${p.node}`);
  if (p?.step != null && p.steps != null) parts.push(`${p.step}/${p.steps}`);
  return parts.join(' ');
}

function renderList(jobs: JobView[], names: InstanceNames, next: string | null): string {
  if (jobs.length === 0) return 'no jobs';
  const text = table(
    [
      { header: 'id' },
      { header: 'status' },
      { header: 'progress' },
      { header: 'instance' },
      { header: 'template' },
      { header: 'created' },
      { header: 'time', align: 'right' },
    ],
    jobs.map((j) => [
      shortId(j.id),
      j.status,
      progressCell(j),
      names.name(j.instance_id) ?? '-',
      j.template?.name ?? '-',
      formatAge(j.created_at),
      formatDuration(j.processing_time_ms),
    ]),
  );
  return next ? `${text}\n\nmore: --cursor ${next}` : text;
}

function renderJob(job: JobView, names: InstanceNames): string {
  const fields: [string, string][] = [
    ['id', job.id],
    ['status', job.status + (job.phase ? ` (${job.phase})` : '')],
  ];
  if (job.status === 'failed' || job.status === 'cancelled') {
    fields.push(['error', failureReason(job) ?? '-']);
  }
  if (job.status === 'processing' && job.progress) {
    const p = job.progress;
    fields.push([
      'progress',
      [
        p.percent == null ? null : `${Math.round(p.percent)}%`,
        p.node ? `node ${p.node}` : null,
        p.step != null && p.steps != null ? `step ${p.step}/${p.steps}` : null,
      ]
        .filter((x) => x !== null)
        .join(' · ') || '-',
    ]);
  }
  fields.push(
    ['instance', names.name(job.instance_id) ?? '-'],
    ['template', job.template ? job.template.name : '-'],
    ['priority', String(job.priority)],
    ['attempts', String(job.attempts)],
    ['created', `${job.created_at} (${formatAge(job.created_at)})`],
    ['run time', formatDuration(job.processing_time_ms)],
  );
  if (job.pin) fields.push(['pinned to', names.name(job.pin) ?? job.pin]);
  if (job.tags.length > 0) fields.push(['tags', job.tags.join(', ')]);
  if (job.retry_of) fields.push(['retry of', job.retry_of]);
  const head = table(
    [{ header: '' }, { header: '' }],
    fields.map(([k, v]) => [`${k}:`, v]),
  )
    .split('\n')
    .slice(1)
    .join('\n');
  const outputs = job.outputs ?? [];
  if (outputs.length === 0) return head;
  const rows = outputs.map((o) => [
    String(o.index),
    o.node_id,
    o.kind === 'file' ? (o.filename ?? '-') : JSON.stringify(o.value ?? null).slice(0, 60),
    o.kind === 'file' ? formatBytes(o.size) : '-',
    o.mime ?? '-',
  ]);
  return `${head}\n\noutputs:\n${table(
    [
      { header: '#' },
      { header: 'node' },
      { header: 'file' },
      { header: 'size', align: 'right' },
      { header: 'type' },
    ],
    rows,
  )}`;
}

/**
 * Follows jobs with a progress bar each; returns 0 when all completed, 1 when one failed or was
 * cancelled, 130 on Ctrl-C.
 */
async function watchJobs(
  client: ClusterClient,
  ids: string[],
  json: boolean,
  context: { url?: string },
  out: string | undefined,
): Promise<ExitCode> {
  const display = json ? undefined : new ProgressDisplay();
  const controller = new AbortController();
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
    controller.abort(new CliError('interrupted', ExitCode.interrupted));
  };
  process.once('SIGINT', onSigint);
  const results = await followJobs(
    client,
    ids.map((id) => ({ id, label: ids.length > 1 ? shortId(id) : `job ${shortId(id)}` })),
    { display, signal: controller.signal },
  );
  process.removeListener('SIGINT', onSigint);
  display?.stop();
  if (interrupted) {
    for (const r of results) {
      if ('job' in r && FINISHED.has(r.job.status)) continue;
      process.stderr.write(
        `stopped watching: job ${r.id} goes on — cancel it: comfy-cluster jobs cancel ${r.id}\n`,
      );
    }
    return ExitCode.interrupted;
  }
  let code: ExitCode = ExitCode.ok;
  const finals: unknown[] = [];
  for (const r of results) {
    if ('error' in r) {
      process.stderr.write(
        `comfy-cluster jobs watch: job ${r.id}: ${describeError(r.error, context)}\n`,
      );
      if (code === ExitCode.ok) code = exitCodeOf(r.error);
      finals.push({ id: r.id, error: describeError(r.error, context) });
      continue;
    }
    const saved =
      out !== undefined && r.job.status === 'completed'
        ? await client.saveOutputs(r.id, out)
        : undefined;
    finals.push(saved ? { ...r.job, saved } : r.job);
    if (!json) for (const s of saved ?? []) printLine(`saved ${s.path} (${formatBytes(s.size)})`);
    if (r.job.status !== 'completed') {
      process.stderr.write(`comfy-cluster jobs watch: ${failureLine(r.job)}\n`);
      if (code === ExitCode.ok) code = ExitCode.failed;
    }
  }
  if (json) printJson(finals);
  return code;
}

/**
 * `comfy-cluster jobs list|show|cancel|retry|watch`: the gateway's jobs.
 *
 * @example
 * // comfy-cluster jobs list --status failed --json
 * registerJobsCommand(program);
 */
export function registerJobsCommand(program: Command): void {
  const jobs = program
    .command('jobs')
    .description('List, show, cancel, retry and watch jobs')
    .addHelpText('after', example('comfy-cluster jobs list --status processing,pending'));

  withRemoteOptions(
    jobs
      .command('list')
      .alias('ls')
      .description('List jobs, newest first')
      .option('--status <list>', `only these statuses (${JOB_STATUSES.join(',')})`)
      .option('--instance <instance>', 'only jobs placed on this instance (id or name)')
      .option('--template <name>', 'only runs of this template')
      .option('-n, --limit <n>', 'how many (1 to 500)', '20')
      .option('--cursor <cursor>', 'the next page (printed under the table)'),
  )
    .addHelpText(
      'after',
      example(
        'comfy-cluster jobs list --status failed --limit 50',
        'comfy-cluster jobs list --json | jq -r ".jobs[].id"',
      ),
    )
    .action((opts: ListOptions) =>
      runRemote('jobs list', opts, async ({ client, json }) => {
        const query: JobQuery = { limit: parseWhole('--limit', opts.limit, 1, 500) };
        if (opts.status !== undefined) query.status = parseStatuses(opts.status);
        if (opts.template !== undefined) query.template = opts.template;
        if (opts.cursor !== undefined) query.cursor = opts.cursor;
        if (opts.instance !== undefined)
          query.instance = (await client.getInstance(opts.instance)).id;
        const page = await client.listJobs(query);
        if (json) {
          printJson(page);
          return undefined;
        }
        const names = new InstanceNames(client);
        await names.load();
        printLine(renderList(page.jobs, names, page.next_cursor));
        return undefined;
      }),
    );

  withRemoteOptions(
    jobs
      .command('show')
      .description('One job: status, error, progress, outputs; --out saves its output files')
      .argument('<id>', 'job id')
      .option('-o, --out <dir>', 'save the output files into this folder'),
  )
    .addHelpText(
      'after',
      example('comfy-cluster jobs show 7d88e267-42f7-410c-ad26-f3ab4d2e75e9 --out ./out'),
    )
    .action((id: string, opts: RemoteOptions & { out?: string }) =>
      runRemote('jobs show', opts, async ({ client, json }) => {
        const job = await client.getJob(id);
        const saved =
          opts.out === undefined ? undefined : await client.saveOutputs(job.id, opts.out);
        if (json) {
          printJson(saved === undefined ? job : { ...job, saved });
          return undefined;
        }
        const names = new InstanceNames(client);
        await names.load();
        printLine(renderJob(job, names));
        if (saved) {
          printLine();
          for (const s of saved) printLine(`saved ${s.path} (${formatBytes(s.size)})`);
          if (saved.length === 0) printLine('no output files to save');
        }
        return undefined;
      }),
    );

  withRemoteOptions(
    jobs
      .command('cancel')
      .description('Cancel jobs: a pending one at once, a running one is interrupted')
      .argument('<ids...>', 'job ids'),
  )
    .addHelpText('after', example('comfy-cluster jobs cancel 7d88e267-42f7-410c-ad26-f3ab4d2e75e9'))
    .action((ids: string[], opts: RemoteOptions) =>
      runRemote('jobs cancel', opts, async ({ client, json }) => {
        const answers = [];
        for (const id of ids) {
          const a = await client.cancel(id);
          answers.push(a);
          if (!json) {
            printLine(
              a.status === 'cancelled'
                ? `Cancelled job ${a.job_id}`
                : `Cancelling job ${a.job_id}: it is being interrupted on its instance`,
            );
          }
        }
        if (json) printJson(answers);
        return undefined;
      }),
    );

  withRemoteOptions(
    jobs
      .command('retry')
      .description('Run a failed or cancelled job again, as a new job')
      .argument('<ids...>', 'job ids')
      .option('-w, --wait', 'follow the new jobs until they are finished'),
  )
    .addHelpText(
      'after',
      example('comfy-cluster jobs retry 7d88e267-42f7-410c-ad26-f3ab4d2e75e9 --wait'),
    )
    .action((ids: string[], opts: RemoteOptions & { wait?: boolean }) =>
      runRemote('jobs retry', opts, async ({ client, json, context }) => {
        const answers = [];
        for (const id of ids) {
          const a = await client.retry(id);
          answers.push(a);
          if (!json) printLine(`Retrying job ${id} as job ${a.job_id}`);
        }
        if (!opts.wait) {
          if (json) printJson(answers);
          return undefined;
        }
        return watchJobs(
          client,
          answers.map((a) => a.job_id),
          json,
          context,
          undefined,
        );
      }),
    );

  withRemoteOptions(
    jobs
      .command('watch')
      .description('Follow jobs with a live progress bar until they are finished')
      .argument('<ids...>', 'job ids')
      .option('-o, --out <dir>', 'save the output files into this folder when done'),
  )
    .addHelpText(
      'after',
      example('comfy-cluster jobs watch 7d88e267-42f7-410c-ad26-f3ab4d2e75e9 --out ./out'),
    )
    .action((ids: string[], opts: RemoteOptions & { out?: string }) =>
      runRemote('jobs watch', opts, ({ client, json, context }) =>
        watchJobs(client, ids, json, context, opts.out),
      ),
    );
}
