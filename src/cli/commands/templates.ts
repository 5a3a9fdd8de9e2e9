import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type {
  TemplateDefinition,
  TemplateParameter,
  TemplateParameterType,
  TemplateView,
} from '../../client/index.js';
import { CliError, ExitCode } from '../cli-error.js';
import { printJson, printLine, table } from '../output.js';
import { example, type RemoteOptions, runRemote, withRemoteOptions } from '../remote-options.js';
import {
  parseInputs,
  parseParams,
  type SubmitFlags,
  schedulingFrom,
  submitJobs,
  withSubmitOptions,
} from '../submit-jobs.js';
import { readWorkflow, templateSpec } from './submit.js';

interface AddOptions extends RemoteOptions {
  name?: string;
  description?: string;
  bind?: string[];
  replace?: boolean;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** The parameter type a workflow's current value suggests. */
function typeOf(classType: string, input: string, value: unknown): TemplateParameterType {
  if (input === 'image' && /^LoadImage/.test(classType)) return 'image';
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return 'string';
}

/**
 * `--bind NAME=NODE.INPUT` as template parameters of a plain workflow; the type follows the
 * value the workflow has there (a LoadImage `image` is an image).
 *
 * @example
 * parseBindings(['scale=2.scale_by'], workflow); // { scale: { node: '2', input: 'scale_by', type: 'number' } }
 */
export function parseBindings(
  list: readonly string[],
  workflow: Record<string, unknown>,
): Record<string, TemplateParameter> {
  const parameters: Record<string, TemplateParameter> = {};
  for (const item of list) {
    const m = /^([^=]+)=([^.]+)\.(.+)$/.exec(item);
    if (!m) throw new CliError(`--bind takes NAME=NODE.INPUT (got "${item}")`, ExitCode.usage);
    const [, name, node, input] = m as unknown as [string, string, string, string];
    const entry = workflow[node] as
      | { class_type: string; inputs?: Record<string, unknown> }
      | undefined;
    if (!entry)
      throw new CliError(`--bind ${name}: the workflow has no node "${node}"`, ExitCode.usage);
    const current = entry.inputs?.[input];
    parameters[name.trim()] = {
      node,
      input,
      type: typeOf(entry.class_type, input, current),
      ...(current === undefined || Array.isArray(current) ? {} : { default: current }),
    };
  }
  return parameters;
}

/**
 * A template from a file: a template definition (`{name, workflow, parameters}`), or an
 * API-format workflow made a template with `--name` and `--bind`.
 */
function readTemplate(file: string, opts: AddOptions): TemplateDefinition {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== undefined) {
      throw new CliError(`cannot read ${file}`, ExitCode.usage);
    }
    throw new CliError(`${file} is not valid JSON: ${(err as Error).message}`, ExitCode.usage);
  }
  const record = (typeof doc === 'object' && doc !== null ? doc : {}) as Record<string, unknown>;
  if (typeof record.workflow === 'object' && record.workflow !== null) {
    const name = opts.name ?? (typeof record.name === 'string' ? record.name : undefined);
    if (!name) throw new CliError(`${file} has no "name": give --name NAME`, ExitCode.usage);
    const def = { ...record, name } as unknown as TemplateDefinition;
    if (opts.description !== undefined) def.description = opts.description;
    if (opts.bind !== undefined) {
      def.parameters = { ...def.parameters, ...parseBindings(opts.bind, def.workflow) };
    }
    return def;
  }
  const workflow = readWorkflow(file);
  if (!opts.name) {
    throw new CliError(
      `${file} is a plain workflow: give --name NAME (and --bind NAME=NODE.INPUT for parameters)`,
      ExitCode.usage,
    );
  }
  return {
    name: opts.name,
    workflow,
    parameters: parseBindings(opts.bind ?? [], workflow),
    ...(opts.description === undefined ? {} : { description: opts.description }),
  };
}

function paramSummary(t: TemplateView): string {
  const names = Object.entries(t.parameters).map(([n, p]) =>
    p.required === false || p.default !== undefined ? n : `${n}*`,
  );
  return names.join(', ') || '-';
}

function renderTemplate(t: TemplateView): string {
  const head = `${t.name} (${t.source})${t.description ? `\n${t.description}` : ''}\n${Object.keys(t.workflow).length} nodes${t.variants.length > 0 ? `, ${t.variants.length} variant(s)` : ''}`;
  const rows = Object.entries(t.parameters).map(([n, p]) => [
    n,
    p.type,
    `${p.node}.${p.input}`,
    p.default === undefined ? '-' : JSON.stringify(p.default),
    p.required === false || p.default !== undefined ? 'no' : 'yes',
    p.description ?? '',
  ]);
  if (rows.length === 0) return `${head}\nno parameters`;
  return `${head}\n\n${table(
    [
      { header: 'parameter' },
      { header: 'type' },
      { header: 'binds' },
      { header: 'default' },
      { header: 'required' },
      { header: 'description' },
    ],
    rows,
  )}`;
}

/**
 * `comfy-cluster templates list|show|add|rm|run`: stored workflows with named parameters.
 *
 * @example
 * // comfy-cluster templates run upscale-image --input image=cat.png --param scale=2 --out ./out
 * registerTemplatesCommand(program);
 */
export function registerTemplatesCommand(program: Command): void {
  const templates = program
    .command('templates')
    .description('List, show, add, remove and run templates (workflows with named parameters)')
    .addHelpText('after', example('comfy-cluster templates list'));

  withRemoteOptions(templates.command('list').alias('ls').description('List the templates'))
    .addHelpText('after', example('comfy-cluster templates list --json'))
    .action((opts: RemoteOptions) =>
      runRemote('templates list', opts, async ({ client, json }) => {
        const list = await client.listTemplates();
        if (json) {
          printJson(list);
          return undefined;
        }
        if (list.length === 0) {
          printLine('no templates: comfy-cluster templates add FILE --name NAME');
          return undefined;
        }
        printLine(
          table(
            [
              { header: 'name' },
              { header: 'source' },
              { header: 'parameters' },
              { header: 'description' },
            ],
            list.map((t) => [
              t.name,
              t.source,
              paramSummary(t),
              t.description.length > 60 ? `${t.description.slice(0, 59)}…` : t.description,
            ]),
          ),
        );
        printLine('\n* required');
        return undefined;
      }),
    );

  withRemoteOptions(
    templates
      .command('show')
      .description('One template: its parameters and workflow size')
      .argument('<name>'),
  )
    .addHelpText('after', example('comfy-cluster templates show upscale-image'))
    .action((name: string, opts: RemoteOptions) =>
      runRemote('templates show', opts, async ({ client, json }) => {
        const t = await client.getTemplate(name);
        if (json) printJson(t);
        else printLine(renderTemplate(t));
        return undefined;
      }),
    );

  withRemoteOptions(
    templates
      .command('add')
      .description(
        'Add a template from a template file, or from an API-format workflow with --name and --bind',
      )
      .argument('<file>', 'template JSON ({name, workflow, parameters}) or API-format workflow')
      .option('--name <name>', 'the template name (default: the file\'s "name")')
      .option('--description <text>', 'what it does')
      .option('--bind <name=node.input>', 'a parameter bound to a node input (repeat)', collect)
      .option('--replace', 'replace a template of that name'),
  )
    .addHelpText(
      'after',
      example(
        'comfy-cluster templates add invert.json --name invert --bind image=1.image',
        'comfy-cluster templates add my-template.json --replace',
      ),
    )
    .action((file: string, opts: AddOptions) =>
      runRemote('templates add', opts, async ({ client, json }) => {
        const def = readTemplate(file, opts);
        const saved = opts.replace
          ? await client.putTemplate(def.name, def)
          : await client.createTemplate(def);
        if (json) printJson(saved);
        else
          printLine(
            `${opts.replace ? 'Saved' : 'Added'} template ${saved.name} (parameters: ${paramSummary(saved)})`,
          );
        return undefined;
      }),
    );

  withRemoteOptions(
    templates.command('rm').alias('remove').description('Remove templates').argument('<names...>'),
  )
    .addHelpText('after', example('comfy-cluster templates rm invert'))
    .action((names: string[], opts: RemoteOptions) =>
      runRemote('templates rm', opts, async ({ client, json }) => {
        for (const name of names) {
          await client.deleteTemplate(name);
          if (!json) printLine(`Removed template ${name}`);
        }
        if (json) printJson(names.map((name) => ({ name, removed: true })));
        return undefined;
      }),
    );

  withSubmitOptions(
    withRemoteOptions(
      templates
        .command('run')
        .description('Run a template as a job; --wait shows live progress, --out saves the outputs')
        .argument('<name>', 'template name'),
    ),
    true,
  )
    .addHelpText(
      'after',
      example(
        'comfy-cluster templates run upscale-image --input image=cat.png --param scale=2 --out ./out',
      ),
    )
    .action((name: string, opts: SubmitFlags) =>
      runRemote('templates run', opts, async (remote) => {
        const params = parseParams(opts.param);
        const inputs = parseInputs(opts.input);
        const scheduling = await schedulingFrom(remote.client, opts);
        const spec = await templateSpec(remote.client, name, params, inputs);
        return submitJobs(
          remote,
          'templates run',
          [{ ...spec, request: { ...spec.request, ...scheduling } }],
          opts,
        );
      }),
    );
}
