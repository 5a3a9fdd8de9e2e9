import { type Static, Type } from 'typebox';
import { schemaErrors } from '../fleet/index.js';
import { JobError } from './errors.js';

/**
 * Templates: a stored API-format workflow with named parameters, each bound to one node input.
 * A template may have variants: another workflow used when a given optional parameter is passed
 * (e.g. `upscale-image` switches to an upscale model when `model` is given).
 */

/**
 * Parameter types. `image` is a file: the name of one of the job's inputs (or a data URL, which
 * becomes one), bound to a LoadImage-like input.
 */
export const TEMPLATE_PARAMETER_TYPES = [
  'image',
  'string',
  'integer',
  'number',
  'boolean',
  'choice',
] as const;
export type TemplateParameterType = (typeof TEMPLATE_PARAMETER_TYPES)[number];

/** Where templates come from. `file` ones are reloaded from the templates folder at start. */
export const TEMPLATE_SOURCES = ['file', 'api', 'builtin'] as const;
export type TemplateSource = (typeof TEMPLATE_SOURCES)[number];

export const TEMPLATE_NAME_PATTERN = '^[a-z0-9][a-z0-9._-]{0,127}$';
const PARAM_NAME_PATTERN = '^[a-z_][a-z0-9_]{0,63}$';

const WorkflowSchema = Type.Record(Type.String({ minLength: 1 }), Type.Unknown(), {
  description: 'API-format workflow',
});

export const TemplateParameterSchema = Type.Object(
  {
    node: Type.String({ minLength: 1, description: 'node id in the workflow' }),
    input: Type.String({ minLength: 1, description: 'input name of that node' }),
    type: Type.Enum(TEMPLATE_PARAMETER_TYPES),
    default: Type.Optional(Type.Unknown()),
    required: Type.Optional(
      Type.Boolean({ description: 'default: true when there is no default value' }),
    ),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    min: Type.Optional(Type.Number()),
    max: Type.Optional(Type.Number()),
    choices: Type.Optional(
      Type.Array(Type.Union([Type.String(), Type.Number()]), { minItems: 1, maxItems: 1000 }),
    ),
  },
  { additionalProperties: false },
);
export type TemplateParameter = Static<typeof TemplateParameterSchema>;

export const TemplateVariantSchema = Type.Object(
  {
    when: Type.String({
      pattern: PARAM_NAME_PATTERN,
      description: 'this workflow is used when this parameter is given',
    }),
    workflow: WorkflowSchema,
    description: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);
export type TemplateVariant = Static<typeof TemplateVariantSchema>;

/** A template as a file holds it or the API receives it. */
export const TemplateDefinitionSchema = Type.Object(
  {
    name: Type.String({ pattern: TEMPLATE_NAME_PATTERN }),
    description: Type.String({ maxLength: 2000, default: '' }),
    workflow: WorkflowSchema,
    parameters: Type.Record(Type.String({ pattern: PARAM_NAME_PATTERN }), TemplateParameterSchema, {
      default: {},
    }),
    variants: Type.Array(TemplateVariantSchema, { default: [], maxItems: 16 }),
  },
  { additionalProperties: false },
);
export type TemplateDefinition = Static<typeof TemplateDefinitionSchema>;

/** A stored template. */
export type Template = TemplateDefinition & {
  source: TemplateSource;
  created_at: number;
  updated_at: number;
};

/** One problem with a template definition or with parameters given for it. */
export interface TemplateProblem {
  /** `parameters.scale.default`, or the parameter name when binding. */
  path: string;
  message: string;
}

type Node = { class_type?: unknown; inputs?: unknown };

function nodeOf(workflow: Record<string, unknown>, id: string): Node | undefined {
  const n = workflow[id];
  return n !== null && typeof n === 'object' && !Array.isArray(n) ? (n as Node) : undefined;
}

function workflowProblems(workflow: Record<string, unknown>, at: string): TemplateProblem[] {
  const out: TemplateProblem[] = [];
  if (Object.keys(workflow).length === 0) out.push({ path: at, message: 'has no nodes' });
  for (const id of Object.keys(workflow)) {
    const node = nodeOf(workflow, id);
    if (!node || typeof node.class_type !== 'string' || node.class_type === '') {
      out.push({ path: `${at}.${id}`, message: 'must be a node with a class_type' });
    } else if (
      node.inputs === null ||
      typeof node.inputs !== 'object' ||
      Array.isArray(node.inputs)
    ) {
      out.push({ path: `${at}.${id}.inputs`, message: 'must be an object' });
    }
  }
  return out;
}

/**
 * Checks a template definition: its shape, every parameter bound to a node that exists (in the
 * workflow or a variant), defaults of the declared type, variants keyed on optional parameters.
 * Empty when usable.
 *
 * @example
 * templateProblems({ name: 'x', description: '', workflow: {}, parameters: {}, variants: [] });
 * // [{ path: 'workflow', message: 'has no nodes' }]
 */
export function templateProblems(definition: unknown): TemplateProblem[] {
  const shape = schemaErrors(TemplateDefinitionSchema, definition);
  if (shape.length > 0) return shape;
  const def = definition as TemplateDefinition;
  const out = workflowProblems(def.workflow, 'workflow');
  def.variants.forEach((v, i) => {
    out.push(...workflowProblems(v.workflow, `variants[${i}].workflow`));
    const p = def.parameters[v.when];
    if (!p) {
      out.push({ path: `variants[${i}].when`, message: `names no parameter ("${v.when}")` });
    } else if (isRequired(p)) {
      out.push({
        path: `variants[${i}].when`,
        message: `parameter "${v.when}" is always given (required or defaulted), so the base workflow would never run`,
      });
    }
  });
  const workflows = [def.workflow, ...def.variants.map((v) => v.workflow)];
  for (const [name, p] of Object.entries(def.parameters)) {
    const at = `parameters.${name}`;
    if (!workflows.some((w) => nodeOf(w, p.node) !== undefined)) {
      out.push({
        path: `${at}.node`,
        message: `node "${p.node}" is in no workflow of the template`,
      });
    }
    if (p.type === 'choice' && !p.choices) {
      out.push({ path: `${at}.choices`, message: 'a choice parameter needs its choices' });
    }
    if (p.min !== undefined && p.max !== undefined && p.min > p.max) {
      out.push({ path: `${at}.min`, message: 'must not be larger than max' });
    }
    if (p.default !== undefined) {
      const checked = checkValue(p, p.default);
      if (typeof checked === 'string') out.push({ path: `${at}.default`, message: checked });
    }
  }
  return out;
}

function isRequired(p: TemplateParameter): boolean {
  return p.default !== undefined || (p.required ?? true);
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : String(v);
}

/** The value converted to the parameter's type, or a message saying why it cannot be. */
function checkValue(p: TemplateParameter, value: unknown): { value: unknown } | string {
  let v = value;
  switch (p.type) {
    case 'image':
    case 'string':
      if (typeof v !== 'string' || v === '')
        return `must be a non-empty string, got ${describe(v)}`;
      break;
    case 'integer':
    case 'number': {
      if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) v = Number(v);
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        return `must be ${p.type === 'integer' ? 'an integer' : 'a number'}, got ${describe(value)}`;
      }
      if (p.type === 'integer' && !Number.isInteger(v)) {
        return `must be an integer, got ${describe(value)}`;
      }
      if (p.min !== undefined && v < p.min) return `must be at least ${p.min}, got ${v}`;
      if (p.max !== undefined && v > p.max) return `must be at most ${p.max}, got ${v}`;
      break;
    }
    case 'boolean':
      if (v === 'true' || v === 'false') v = v === 'true';
      if (typeof v !== 'boolean') return `must be true or false, got ${describe(value)}`;
      break;
    case 'choice':
      break;
  }
  if (p.choices && !p.choices.some((c) => c === v || (typeof c === 'number' && Number(v) === c))) {
    return `must be one of ${p.choices.map((c) => JSON.stringify(c)).join(', ')}, got ${describe(value)}`;
  }
  if (p.type === 'choice' && p.choices) {
    v = p.choices.find((c) => c === v || (typeof c === 'number' && Number(v) === c));
  }
  return { value: v };
}

function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = Math.min(3, Math.ceil(name.length / 2));
  for (const k of known) {
    const d = distance(name.toLowerCase(), k);
    if (d < bestScore) {
      best = k;
      bestScore = d;
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j] ?? 0;
      row[j] = Math.min(
        (row[j] ?? 0) + 1,
        (row[j - 1] ?? 0) + 1,
        prev + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      prev = tmp;
    }
  }
  return row[b.length] ?? 0;
}

/** A file parameter's value, for the caller to resolve against the job's inputs. */
export interface BoundFile {
  param: string;
  node: string;
  input: string;
  /** A job input name, or a data URL to store as a new input. */
  value: string;
}

/** A template bound to parameters. */
export interface BoundTemplate {
  /** The workflow with every given (or defaulted) parameter written into its node input. */
  workflow: Record<string, unknown>;
  /** The parameters as used (converted, defaults filled in). */
  params: Record<string, unknown>;
  /** The variant's `when` parameter, or null for the base workflow. */
  variant: string | null;
  /** `image` parameters (their node input holds the value as is). */
  files: BoundFile[];
  /** Parameters given that the chosen workflow does not use. */
  ignored: string[];
}

/**
 * Binds parameters to a template: picks the workflow (the first variant whose parameter is given,
 * else the base), converts and checks each value (type, range, choices), fills in defaults and
 * writes them into the node inputs. Every problem is reported at once as TEMPLATE_PARAMS_INVALID
 * (unknown parameter, with a suggestion; wrong type; missing required).
 *
 * @example
 * const { workflow } = bindTemplate(upscale, { image: 'photo.png', scale: '3' });
 * // workflow['2'].inputs.scale_by === 3
 */
export function bindTemplate(
  template: TemplateDefinition,
  params: Record<string, unknown> = {},
): BoundTemplate {
  const problems: TemplateProblem[] = [];
  const known = Object.keys(template.parameters);
  for (const name of Object.keys(params)) {
    if (!Object.hasOwn(template.parameters, name)) {
      const hint = closest(name, known);
      problems.push({
        path: name,
        message: hint
          ? `unknown parameter; did you mean "${hint}"?`
          : `unknown parameter; ${template.name} takes ${known.length > 0 ? known.join(', ') : 'no parameters'}`,
      });
    }
  }
  const given = (name: string) => Object.hasOwn(params, name) && params[name] !== undefined;
  const variant = template.variants.find((v) => given(v.when)) ?? null;
  const workflow = structuredClone(variant ? variant.workflow : template.workflow);
  const used: Record<string, unknown> = {};
  const files: BoundFile[] = [];
  const ignored: string[] = [];
  for (const [name, p] of Object.entries(template.parameters)) {
    const raw = given(name) ? params[name] : p.default;
    if (raw === undefined) {
      if (p.required ?? true) problems.push({ path: name, message: 'is required' });
      continue;
    }
    const checked = checkValue(p, raw);
    if (typeof checked === 'string') {
      problems.push({ path: name, message: checked });
      continue;
    }
    used[name] = checked.value;
    const node = nodeOf(workflow, p.node);
    if (!node) {
      if (given(name)) ignored.push(name);
      continue;
    }
    (node.inputs as Record<string, unknown>)[p.input] = checked.value;
    if (p.type === 'image') {
      files.push({ param: name, node: p.node, input: p.input, value: checked.value as string });
    }
  }
  if (problems.length > 0) {
    const first = problems[0] as TemplateProblem;
    throw new JobError(
      'TEMPLATE_PARAMS_INVALID',
      `template ${template.name}: parameter ${first.path} ${first.message}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}`,
      { template: template.name, errors: problems },
    );
  }
  return { workflow, params: used, variant: variant?.when ?? null, files, ignored };
}
