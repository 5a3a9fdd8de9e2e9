/**
 * Submitting jobs from the command line and, with `--wait` / `--out`, following them to the end:
 * shared by `submit` and `templates run`.
 */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { type Command, Option } from 'commander';
import type {
  Accepted,
  ClusterClient,
  JobView,
  SavedOutput,
  SubmitRequest,
} from '../client/index.js';
import { CliError, describeError, ExitCode, exitCodeOf } from './cli-error.js';
import { type FollowTarget, failureLine, followJobs } from './job-follower.js';
import { formatBytes, formatDuration, printJson, shortId } from './output.js';
import { ProgressDisplay } from './progress.js';
import { parseWhole, type Remote, type RemoteOptions } from './remote-options.js';

/** Flags every way of submitting takes. */
export interface SubmitFlags extends RemoteOptions {
  param?: string[];
  input?: string[];
  priority?: string;
  pin?: string;
  tag?: string[];
  jobTimeout?: string;
  wait?: boolean;
  out?: string;
}

/** One job to submit, and what its progress line is called. */
export interface JobSpec {
  label: string;
  request: SubmitRequest;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/**
 * Adds `--param`, `--input`, `--priority`, `--pin`, `--tag`, `--job-timeout`, `--wait`, `--out`.
 *
 * @example
 * withSubmitOptions(program.command('submit'));
 */
export function withSubmitOptions(command: Command, params: boolean): Command {
  if (params) {
    command.option(
      '-p, --param <name=value>',
      'template parameter (repeat; the value is read as JSON when it parses, else as text)',
      collect,
    );
  }
  return command
    .option(
      '-i, --input <name=file>',
      'upload a file with the job under this name (repeat; just FILE uses its file name)',
      collect,
    )
    .option('--priority <n>', 'higher runs first (-1000 to 1000, default 0)')
    .option('--pin <instance>', 'run only on this instance (id, name or "active")')
    .option('--tag <tag>', 'run only on instances with this tag (repeat for several)', collect)
    .option('--job-timeout <seconds>', 'interrupt the job after this long on an instance')
    .option('-w, --wait', 'follow the job with a live progress bar until it is finished')
    .addOption(new Option('-o, --out <dir>', 'save the outputs into this folder (implies --wait)'));
}

/**
 * `--param name=value` pairs as template params: JSON when the value parses (`2`, `true`,
 * `"x"`, `[1,2]`), else the text itself.
 *
 * @example
 * parseParams(['scale=2', 'method=lanczos']); // { scale: 2, method: 'lanczos' }
 */
export function parseParams(list: readonly string[] = []): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    const name = eq === -1 ? '' : item.slice(0, eq).trim();
    if (name === '') {
      throw new CliError(`--param takes NAME=VALUE (got "${item}")`, ExitCode.usage);
    }
    const text = item.slice(eq + 1);
    try {
      params[name] = JSON.parse(text);
    } catch {
      params[name] = text;
    }
  }
  return params;
}

/**
 * `--input name=file` (or just `file`) as the files to upload, each checked readable now so a
 * typo is a usage error before anything is sent.
 *
 * @example
 * parseInputs(['image=./cat.png']); // [{ name: 'image', file: './cat.png' }]
 */
export function parseInputs(list: readonly string[] = []): { name: string; file: string }[] {
  return list.map((item) => {
    const eq = item.indexOf('=');
    const name = eq === -1 ? path.basename(item) : item.slice(0, eq).trim();
    const file = eq === -1 ? item : item.slice(eq + 1);
    if (name === '' || file === '') {
      throw new CliError(`--input takes NAME=FILE or FILE (got "${item}")`, ExitCode.usage);
    }
    try {
      accessSync(file, constants.R_OK);
      if (!statSync(file).isFile()) throw new Error('not a file');
    } catch {
      throw new CliError(`--input ${name}: cannot read ${file}`, ExitCode.usage);
    }
    return { name, file };
  });
}

/**
 * The scheduling fields of a request from the flags (priority, pin, tags, timeout). A pin by
 * name is resolved to the instance id the gateway expects.
 *
 * @example
 * const fields = await schedulingFrom(client, { priority: '5', pin: 'gpu-1' });
 */
export async function schedulingFrom(
  client: ClusterClient,
  flags: SubmitFlags,
): Promise<Pick<SubmitRequest, 'priority' | 'pin' | 'tags' | 'timeout_ms'>> {
  const fields: Pick<SubmitRequest, 'priority' | 'pin' | 'tags' | 'timeout_ms'> = {};
  if (flags.priority !== undefined) {
    const n = Number(flags.priority);
    if (!/^-?\d+$/.test(flags.priority.trim()) || n < -1000 || n > 1000) {
      throw new CliError(
        `--priority must be a whole number from -1000 to 1000 (got "${flags.priority}")`,
        ExitCode.usage,
      );
    }
    fields.priority = n;
  }
  if (flags.tag !== undefined) fields.tags = flags.tag;
  if (flags.jobTimeout !== undefined) {
    fields.timeout_ms = parseWhole('--job-timeout', flags.jobTimeout, 1, 86_400) * 1000;
  }
  if (flags.pin !== undefined) {
    fields.pin = flags.pin === 'active' ? 'active' : (await client.getInstance(flags.pin)).id;
  }
  return fields;
}

/** One line of `--json` output of a submission. */
interface SubmittedJob {
  source: string;
  job_id: string;
  status: string;
  queue_position: number | null;
  estimated_completion_seconds: number | null;
  job?: JobView;
  saved?: SavedOutput[];
  error?: string;
}

function interruptedLine(id: string): string {
  return `job ${id} is still running — follow it: comfy-cluster jobs watch ${id}, cancel it: comfy-cluster jobs cancel ${id}`;
}

/**
 * Submits each job, then (with `--wait` or `--out`) follows them all with one progress bar each,
 * saves the outputs, and returns the exit code: 0 when every job completed, 1 when one failed or
 * was cancelled, 130 on Ctrl-C (the jobs go on).
 *
 * @example
 * const code = await submitJobs(remote, 'submit', [{ label: 'a.json', request }], flags);
 */
export async function submitJobs(
  remote: Remote,
  command: string,
  specs: readonly JobSpec[],
  flags: SubmitFlags,
): Promise<ExitCode> {
  const { client, json } = remote;
  const wait = flags.wait === true || flags.out !== undefined;
  const submitted: { spec: JobSpec; accepted: Accepted; row: SubmittedJob }[] = [];
  for (const spec of specs) {
    const accepted = await client.submit(spec.request);
    const row: SubmittedJob = {
      source: spec.label,
      job_id: accepted.job_id,
      status: accepted.status,
      queue_position: accepted.queue_position,
      estimated_completion_seconds: accepted.estimated_completion_seconds,
    };
    submitted.push({ spec, accepted, row });
    if (!json) {
      const where =
        accepted.queue_position === null ? '' : ` (queue position ${accepted.queue_position})`;
      process.stdout.write(`${spec.label}: submitted as job ${accepted.job_id}${where}\n`);
    }
  }
  if (!wait) {
    if (json) printJson(submitted.map((s) => s.row));
    else if (submitted.length > 0) {
      const first = submitted[0]?.accepted.job_id ?? '';
      process.stdout.write(`follow it: comfy-cluster jobs watch ${first}\n`);
    }
    return ExitCode.ok;
  }

  const display = json ? undefined : new ProgressDisplay();
  const controller = new AbortController();
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
    controller.abort(new CliError('interrupted', ExitCode.interrupted));
  };
  process.once('SIGINT', onSigint);
  const targets: FollowTarget[] = submitted.map((s) => ({
    id: s.accepted.job_id,
    label: specs.length > 1 ? `${s.spec.label} ${shortId(s.accepted.job_id)}` : s.spec.label,
    workflow: s.accepted.job?.workflow ?? s.spec.request.workflow,
  }));
  const results = await followJobs(client, targets, { display, signal: controller.signal });
  process.removeListener('SIGINT', onSigint);
  display?.stop();

  if (interrupted) {
    for (const r of results) {
      if ('job' in r && ['completed', 'failed', 'cancelled'].includes(r.job.status)) continue;
      process.stderr.write(`${interruptedLine(r.id)}\n`);
    }
    return ExitCode.interrupted;
  }

  let code: ExitCode = ExitCode.ok;
  for (const [i, r] of results.entries()) {
    const row = submitted[i]?.row as SubmittedJob;
    if ('error' in r) {
      row.error = describeError(r.error, remote.context);
      process.stderr.write(`comfy-cluster ${command}: job ${r.id}: ${row.error}\n`);
      if (code === ExitCode.ok) code = exitCodeOf(r.error);
      continue;
    }
    row.status = r.job.status;
    row.job = r.job;
    if (r.job.status !== 'completed') {
      process.stderr.write(`comfy-cluster ${command}: ${failureLine(r.job)}\n`);
      if (code === ExitCode.ok) code = ExitCode.failed;
      continue;
    }
    if (flags.out !== undefined) {
      row.saved = await client.saveOutputs(r.id, flags.out);
      if (!json) {
        for (const s of row.saved) {
          process.stdout.write(`saved ${s.path} (${formatBytes(s.size)})\n`);
        }
        if (row.saved.length === 0) process.stdout.write(`${r.label}: no output files\n`);
      }
    } else if (!json) {
      const files = (r.job.outputs ?? []).filter((o) => o.kind === 'file').length;
      process.stdout.write(
        `${r.label}: completed in ${formatDuration(r.job.processing_time_ms)}, ${files} output file${files === 1 ? '' : 's'} (download: comfy-cluster jobs show ${r.id} --out DIR)\n`,
      );
    }
  }
  if (json) printJson(submitted.map((s) => s.row));
  return code;
}
