import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { ClusterClient, InputFile, SubmitRequest } from '../../client/index.js';
import { CliError, ExitCode } from '../cli-error.js';
import { example, runRemote, withRemoteOptions } from '../remote-options.js';
import {
  type JobSpec,
  parseInputs,
  parseParams,
  type SubmitFlags,
  schedulingFrom,
  submitJobs,
  withSubmitOptions,
} from '../submit-jobs.js';

interface SubmitOptions extends SubmitFlags {
  template?: string;
}

/**
 * Reads an API-format workflow (`{"<node id>": {"class_type", "inputs"}}`, or ComfyUI's
 * `{"prompt": {...}}` body). A UI-format file (`nodes` + `links`) is refused with how to export
 * the API format. Every problem is a usage error naming the file.
 *
 * @example
 * const workflow = readWorkflow('portrait.json');
 */
export function readWorkflow(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(
      `cannot read ${file}${code === 'ENOENT' ? ': no such file' : code === 'EISDIR' ? ': it is a folder' : ''}`,
      ExitCode.usage,
    );
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new CliError(`${file} is not valid JSON: ${(err as Error).message}`, ExitCode.usage);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new CliError(`${file}: a workflow is a JSON object of nodes`, ExitCode.usage);
  }
  const record = doc as Record<string, unknown>;
  if (Array.isArray(record.nodes) && 'links' in record) {
    throw new CliError(
      `${file} is a ComfyUI UI workflow (it has "nodes" and "links"); export it in API format (ComfyUI: Workflow → Export (API)) and submit that file`,
      ExitCode.usage,
    );
  }
  const workflow =
    typeof record.prompt === 'object' && record.prompt !== null && !Array.isArray(record.prompt)
      ? (record.prompt as Record<string, unknown>)
      : record;
  const ids = Object.keys(workflow);
  if (ids.length === 0) throw new CliError(`${file}: the workflow has no nodes`, ExitCode.usage);
  for (const id of ids) {
    const node = workflow[id];
    if (
      typeof node !== 'object' ||
      node === null ||
      typeof (node as { class_type?: unknown }).class_type !== 'string'
    ) {
      throw new CliError(
        `${file}: node "${id}" has no class_type — is this an API-format workflow? (ComfyUI: Workflow → Export (API))`,
        ExitCode.usage,
      );
    }
  }
  return workflow;
}

/**
 * `comfy-cluster submit WORKFLOW.json... | --template NAME`: submits jobs to the gateway; with
 * `--wait` follows them with a live progress bar each, with `--out` saves their outputs.
 *
 * @example
 * // comfy-cluster submit portrait.json --input image=cat.png --out ./out
 * registerSubmitCommand(program);
 */
export function registerSubmitCommand(program: Command): void {
  withSubmitOptions(
    withRemoteOptions(
      program
        .command('submit')
        .description(
          'Submit API-format workflows (one job each) or a template run; --wait shows live progress',
        )
        .argument('[workflows...]', 'API-format workflow JSON files (ComfyUI: Export (API))')
        .option('-t, --template <name>', 'run this template instead of workflow files'),
    ),
    true,
  )
    .addHelpText(
      'after',
      example(
        'comfy-cluster submit workflow.json --out ./out',
        'comfy-cluster submit a.json b.json c.json --wait --priority 10',
        'comfy-cluster submit --template upscale-image --input image=cat.png --param scale=2 --out ./out',
      ),
    )
    .action((files: string[], opts: SubmitOptions) =>
      runRemote('submit', opts, async (remote) => {
        if (opts.template === undefined && files.length === 0) {
          throw new CliError('give workflow files (API format) or --template NAME', ExitCode.usage);
        }
        if (opts.template !== undefined && files.length > 0) {
          throw new CliError(
            'give workflow files or --template, not both (a template has its own workflow)',
            ExitCode.usage,
          );
        }
        if (opts.template === undefined && opts.param !== undefined) {
          throw new CliError(
            '--param sets template parameters: use it with --template NAME',
            ExitCode.usage,
          );
        }
        const inputs = parseInputs(opts.input);
        const workflows = files.map((f) => ({ file: f, workflow: readWorkflow(f) }));
        const params = parseParams(opts.param);
        const scheduling = await schedulingFrom(remote.client, opts);
        if (opts.template !== undefined) {
          const spec = await templateSpec(remote.client, opts.template, params, inputs);
          return submitJobs(
            remote,
            'submit',
            [{ ...spec, request: { ...spec.request, ...scheduling } }],
            opts,
          );
        }
        const uploads: Record<string, InputFile> = {};
        for (const i of inputs) uploads[i.name] = { path: i.file };
        const specs: JobSpec[] = workflows.map(({ file, workflow }) => ({
          label: path.basename(file),
          request: {
            workflow,
            ...(inputs.length > 0 ? { inputs: uploads } : {}),
            ...scheduling,
          },
        }));
        return submitJobs(remote, 'submit', specs, opts);
      }),
    );
}

/**
 * A template run as a job spec. An `--input NAME=FILE` whose name is one of the template's
 * parameters sets that parameter to the uploaded file (`--input image=cat.png`); other names
 * are uploaded as they are.
 *
 * @example
 * const spec = await templateSpec(client, 'upscale-image', { scale: 2 }, [{ name: 'image', file: 'cat.png' }]);
 */
export async function templateSpec(
  client: ClusterClient,
  name: string,
  params: Record<string, unknown>,
  inputs: readonly { name: string; file: string }[],
): Promise<JobSpec> {
  const template = inputs.length > 0 ? await client.getTemplate(name) : undefined;
  const uploads: Record<string, InputFile> = {};
  const bound = { ...params };
  for (const i of inputs) {
    if (template?.parameters[i.name] !== undefined && bound[i.name] === undefined) {
      const fileName = path.basename(i.file);
      bound[i.name] = fileName;
      uploads[fileName] = { path: i.file };
    } else {
      uploads[i.name] = { path: i.file };
    }
  }
  const request: SubmitRequest = {
    template: name,
    params: bound,
    ...(inputs.length > 0 ? { inputs: uploads } : {}),
  };
  return { label: name, request };
}
