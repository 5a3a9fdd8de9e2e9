/**
 * Declaring a node class once and getting both its `/object_info` entry (keys in exactly the order
 * a real ComfyUI 0.8.0 writes them) and its `NodeDefinition`.
 *
 * Two layouts exist on a real server: classic nodes (`nodes.py` style) and the new schema nodes
 * ("V3", e.g. ImageBlur), which add `output_tooltips`, `output_matchtypes`, `deprecated`,
 * `experimental` and `api_node`, and write combos as `["COMBO", {"multiselect": false, "options": [...]}]`.
 */
import type { InputSpec, JsonObject, JsonValue, NodeInfo } from '../../comfy/protocol.js';
import type { NodeContext, NodeDefinition, NodeEnvironment, NodeResult } from './types.js';

/** An input spec, or a function building it from the environment (file and model lists). */
export type InputDecl = InputSpec | ((env: NodeEnvironment) => InputSpec);

export interface NodeSpec {
  name: string;
  /** `classic` (nodes.py style) or `v3` (schema nodes). */
  style: 'classic' | 'v3';
  /** Display name; `null` is what some V3 nodes report. Default: the class name. */
  displayName?: string | null;
  description?: string;
  category: string;
  pythonModule: string;
  outputNode?: boolean;
  required?: ReadonlyArray<readonly [string, InputDecl]>;
  optional?: ReadonlyArray<readonly [string, InputDecl]>;
  hidden?: Readonly<Record<string, string>>;
  outputs: readonly string[];
  outputNames?: readonly string[];
  outputIsList?: readonly boolean[];
  /** Classic nodes list these after `output_node`; V3 nodes always have them (null each). */
  outputTooltips?: ReadonlyArray<string | null>;
  deprecated?: boolean;
  experimental?: boolean;
  run(inputs: Record<string, unknown>, ctx: NodeContext): Promise<NodeResult>;
  validateInputs?: NodeDefinition['validateInputs'];
  customValidatedInputs?: readonly string[];
  isChanged?: NodeDefinition['isChanged'];
  notIdempotent?: boolean;
  /**
   * Nominal duration in ms at speed 1 for these inputs: the sum of what `run` passes to
   * `ctx.work`. Lets an executor turn a per-class duration override into a factor.
   */
  nominalMs?(inputs: Record<string, unknown>): number;
}

/** A NodeDefinition that also knows its nominal duration. */
export interface EmulatedNodeDefinition extends NodeDefinition {
  nominalMs(inputs: Record<string, unknown>): number;
  /** Whether the class is an output node (cheap; no environment needed). */
  readonly isOutputNode: boolean;
}

function resolve(decl: InputDecl, env: NodeEnvironment): InputSpec {
  return typeof decl === 'function' ? decl(env) : decl;
}

function section(
  decls: ReadonlyArray<readonly [string, InputDecl]>,
  env: NodeEnvironment,
): Record<string, InputSpec> {
  const out: Record<string, InputSpec> = {};
  for (const [name, decl] of decls) out[name] = resolve(decl, env);
  return out;
}

function buildInfo(spec: NodeSpec, env: NodeEnvironment): NodeInfo {
  const input: Record<string, JsonValue> = {};
  const order: Record<string, JsonValue> = {};
  if (spec.required) {
    input.required = section(spec.required, env) as unknown as JsonObject;
    order.required = spec.required.map(([n]) => n);
  }
  if (spec.optional) {
    input.optional = section(spec.optional, env) as unknown as JsonObject;
    order.optional = spec.optional.map(([n]) => n);
  }
  if (spec.hidden) {
    input.hidden = { ...spec.hidden };
    order.hidden = Object.keys(spec.hidden);
  }
  const outputs = [...spec.outputs];
  const info: Record<string, JsonValue> = {
    input,
    input_order: order,
    output: outputs,
    output_is_list: [...(spec.outputIsList ?? outputs.map(() => false))],
    output_name: [...(spec.outputNames ?? outputs)],
  };
  const display = spec.displayName === undefined ? spec.name : spec.displayName;
  if (spec.style === 'v3') {
    info.output_tooltips = [...(spec.outputTooltips ?? outputs.map(() => null))];
    info.output_matchtypes = null;
  }
  info.name = spec.name;
  info.display_name = display;
  info.description = spec.description ?? '';
  info.python_module = spec.pythonModule;
  info.category = spec.category;
  info.output_node = spec.outputNode ?? false;
  if (spec.style === 'v3') {
    info.deprecated = spec.deprecated ?? false;
    info.experimental = spec.experimental ?? false;
    info.api_node = false;
  } else {
    if (spec.outputTooltips) info.output_tooltips = [...spec.outputTooltips];
    if (spec.deprecated) info.deprecated = true;
    if (spec.experimental) info.experimental = true;
  }
  // display_name may be null on a real server, which NodeInfo's type does not allow.
  return info as unknown as NodeInfo;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}

/**
 * Turns a spec into a NodeDefinition.
 *
 * @example
 * const def = defineNode({ name: 'Foo', style: 'classic', category: 'image', pythonModule: 'nodes',
 *   outputs: [], outputNode: true, run: async () => ({ outputs: [] }) });
 */
export function defineNode(spec: NodeSpec): EmulatedNodeDefinition {
  // Validation asks for the info of every class of every prompt: a class whose inputs do not
  // depend on the environment (files, models) gets it built once, frozen against edits.
  const isStatic = [...(spec.required ?? []), ...(spec.optional ?? [])].every(
    ([, decl]) => typeof decl !== 'function',
  );
  let staticInfo: NodeInfo | undefined;
  const def: EmulatedNodeDefinition = {
    name: spec.name,
    isOutputNode: spec.outputNode ?? false,
    info: isStatic
      ? (env) => {
          staticInfo ??= deepFreeze(buildInfo(spec, env));
          return staticInfo;
        }
      : (env) => buildInfo(spec, env),
    run: (inputs, ctx) => spec.run(inputs, ctx),
    nominalMs: (inputs) => (spec.nominalMs ? spec.nominalMs(inputs) : 0),
  };
  const extra: Partial<Record<keyof NodeDefinition, unknown>> = {};
  if (spec.validateInputs) extra.validateInputs = spec.validateInputs;
  if (spec.customValidatedInputs) extra.customValidatedInputs = spec.customValidatedInputs;
  if (spec.isChanged) extra.isChanged = spec.isChanged;
  if (spec.notIdempotent) extra.notIdempotent = true;
  return Object.assign(def, extra);
}

/**
 * `["COMBO", {"multiselect": false, "options": [...]}]`, the V3 way to write a combo; `before`
 * holds keys a real server writes first (e.g. `default`).
 */
export function v3Combo(options: readonly string[], before: JsonObject = {}): InputSpec {
  return ['COMBO', { ...before, multiselect: false, options: [...options] }];
}
