/**
 * ComfyUI's POST /prompt validation (`validate_prompt` / `validate_inputs`, 0.8.0) driven by plain
 * `/object_info` data, so the gateway can answer with the exact `error` / `node_errors` bodies a
 * ComfyUI instance would, without asking one.
 *
 * Same checks in the same order, the same error objects and messages, the same quirks: the
 * top-level `details` only lists the failing outputs' own errors; nodes invalid only because of
 * something upstream are not listed; `dependent_outputs` collects every failing output seen after a
 * node failed. Dependency cycles are reported as `dependency_cycle` errors (as newer servers do)
 * instead of recursing until Python's stack overflows.
 *
 * Inputs a node validates itself (ComfyUI's `VALIDATE_INPUTS`, e.g. LoadImage's `image`, whose file
 * must exist) are handed to the `customValidation` hook and skip the combo-list check, as on a real
 * server. {@link fileInputValidation} builds that hook for upload inputs (`image_upload`, ...).
 *
 * Where Python itself would raise outside the validator's try blocks (a prompt that is a number, a
 * node that is not an object, ...) {@link PromptValidationCrash} is thrown: ComfyUI answers those
 * with a plain 500.
 */
import type {
  ApiPrompt,
  InputSpec,
  JsonObject,
  JsonValue,
  NodeErrors,
  NodeInfo,
  ValidationError,
} from './protocol.js';
import { pyFloatRepr, pyNumberRepr, pyRepr, pyStr, pyStrRepr } from './python-format.js';

// ---------------------------------------------------------------------------------------------
// Public shapes
// ---------------------------------------------------------------------------------------------

/** Result of validating a prompt the way POST /prompt does. */
export type PromptValidationResult =
  | {
      ok: true;
      /** Output node ids that passed (only these run). */
      outputs: string[];
      /** Failures of other outputs (a 200 may still carry these). */
      nodeErrors: NodeErrors;
      /** The prompt with widget values converted to their declared types. */
      prompt: ApiPrompt;
    }
  | { ok: false; error: ValidationError; nodeErrors: NodeErrors };

/**
 * A node's own validation of some of its inputs (ComfyUI's `VALIDATE_INPUTS`): it receives the
 * constant values of `inputs` (a linked input is passed as null) and returns true or a message,
 * which becomes a `custom_validation_failed` error per input.
 */
export interface CustomInputValidator {
  readonly inputs: readonly string[];
  validate(given: Record<string, JsonValue>): true | string;
}

/** Node definitions: `/object_info` as an object, or a lookup (called at most once per class). */
export type NodeInfoSource =
  | Readonly<Record<string, NodeInfo>>
  | ((classType: string) => NodeInfo | undefined);

export interface PromptValidationOptions {
  nodes: NodeInfoSource;
  /** Custom validators per class (e.g. from {@link fileInputValidation}); none by default. */
  customValidation?: (classType: string, info: NodeInfo) => CustomInputValidator | undefined;
  /** POST /prompt's `partial_execution_targets`: only these output nodes run. */
  partialExecutionTargets?: readonly string[];
  /** Install root shown in traceback frames. Default `/srv/ComfyUI` (the recordings' root). */
  tracebackRoot?: string;
}

/**
 * Thrown where ComfyUI itself raises an uncaught exception while handling the prompt (a prompt
 * that is a number, a node that is not an object, ...). A server answers these with a plain 500.
 *
 * @example
 * try { validateApiPrompt(5, { nodes: objectInfo }); } catch (e) { if (e instanceof PromptValidationCrash) send500(); }
 */
export class PromptValidationCrash extends Error {
  constructor(
    readonly pyType: string,
    message: string,
  ) {
    super(`${pyType}: ${message}`);
    this.name = 'PromptValidationCrash';
  }
}

// ---------------------------------------------------------------------------------------------
// The Python operations validation performs, with the exceptions they raise
// ---------------------------------------------------------------------------------------------

class PyException extends Error {
  constructor(
    readonly pyType: string,
    message: string,
    readonly frames: string[] = [],
  ) {
    super(message);
    this.name = 'PyException';
  }
}

function pyTypeName(v: unknown): string {
  if (v === null || v === undefined) return 'NoneType';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'string') return 'str';
  if (Array.isArray(v)) return 'list';
  return 'dict';
}

function isDict(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Python `==` between JSON values (1 == 1.0 == True). */
function pyEquals(a: unknown, b: unknown): boolean {
  const num = (v: unknown) => (typeof v === 'boolean' ? (v ? 1 : 0) : v);
  const x = num(a);
  const y = num(b);
  if (typeof x === 'number' && typeof y === 'number') return x === y;
  if (Array.isArray(x) && Array.isArray(y)) {
    return x.length === y.length && x.every((v, i) => pyEquals(v, y[i]));
  }
  if (isDict(x) && isDict(y)) {
    const kx = Object.keys(x);
    return (
      kx.length === Object.keys(y).length &&
      kx.every((k) => Object.hasOwn(y, k) && pyEquals(x[k], y[k]))
    );
  }
  return x === y;
}

/** `key in container`. */
function pyIn(container: unknown, key: string): boolean {
  if (isDict(container)) return Object.hasOwn(container, key);
  if (typeof container === 'string') return container.includes(key);
  if (Array.isArray(container)) return container.some((v) => pyEquals(v, key));
  throw new PyException('TypeError', `argument of type '${pyTypeName(container)}' is not iterable`);
}

/** `container[key]` with a string key. */
function pyGetStr(container: unknown, key: string): unknown {
  if (isDict(container)) {
    if (!Object.hasOwn(container, key)) throw new PyException('KeyError', pyStrRepr(key));
    return container[key];
  }
  if (typeof container === 'string') {
    throw new PyException('TypeError', "string indices must be integers, not 'str'");
  }
  if (Array.isArray(container)) {
    throw new PyException('TypeError', 'list indices must be integers or slices, not str');
  }
  throw new PyException('TypeError', `'${pyTypeName(container)}' object is not subscriptable`);
}

/** `d[key]` on a dict with string keys, for any JSON key. */
function pyDictGet(d: Record<string, unknown>, key: unknown): unknown {
  if (Array.isArray(key) || isDict(key)) {
    throw new PyException('TypeError', `unhashable type: '${pyTypeName(key)}'`);
  }
  if (typeof key === 'string' && Object.hasOwn(d, key)) return d[key];
  throw new PyException('KeyError', pyRepr(key));
}

/** `tuple[index]` (RETURN_TYPES[slot]). */
function pyTupleGet<T>(tuple: readonly T[], index: unknown): T {
  let i: number;
  if (typeof index === 'boolean') i = index ? 1 : 0;
  else if (typeof index === 'number' && Number.isInteger(index)) i = index;
  else {
    throw new PyException(
      'TypeError',
      `tuple indices must be integers or slices, not ${pyTypeName(index)}`,
    );
  }
  const j = i < 0 ? tuple.length + i : i;
  if (j < 0 || j >= tuple.length) throw new PyException('IndexError', 'tuple index out of range');
  return tuple[j] as T;
}

function pyInt(v: unknown): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') {
    if (Number.isNaN(v)) throw new PyException('ValueError', 'cannot convert float NaN to integer');
    if (!Number.isFinite(v))
      throw new PyException('OverflowError', 'cannot convert float infinity to integer');
    return Math.trunc(v);
  }
  if (typeof v === 'string') {
    const t = v.trim();
    if (/^[+-]?\d+(_\d+)*$/.test(t)) return Number(t.replaceAll('_', ''));
    throw new PyException('ValueError', `invalid literal for int() with base 10: ${pyStrRepr(v)}`);
  }
  throw new PyException(
    'TypeError',
    `int() argument must be a string, a bytes-like object or a real number, not '${pyTypeName(v)}'`,
  );
}

const FLOAT_DIGITS = String.raw`\d+(?:_\d+)*`;
const FLOAT_RE = new RegExp(
  `^[+-]?(?:${FLOAT_DIGITS}(?:\\.(?:${FLOAT_DIGITS})?)?|\\.${FLOAT_DIGITS})(?:e[+-]?${FLOAT_DIGITS})?$`,
);

function pyFloat(v: unknown): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const t = v.trim().toLowerCase();
    if (/^[+-]?(inf|infinity)$/.test(t)) {
      return t.startsWith('-') ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    }
    if (/^[+-]?nan$/.test(t)) return Number.NaN;
    if (FLOAT_RE.test(t)) return Number(t.replaceAll('_', ''));
    throw new PyException('ValueError', `could not convert string to float: ${pyStrRepr(v)}`);
  }
  throw new PyException(
    'TypeError',
    `float() argument must be a string or a real number, not '${pyTypeName(v)}'`,
  );
}

function pyBool(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isDict(v)) return Object.keys(v).length > 0;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Traceback frames of validation exceptions (Python 3.11 layout, as ComfyUI 0.8.0 reports them)
// ---------------------------------------------------------------------------------------------

interface Frames {
  validatePrompt: string;
  innerValidate: string;
  linkedNode: string;
  returnType: string;
  nodeInputs: string;
  inputAccess: string;
  customValidate: string[];
}

function buildFrames(root: string): Frames {
  const file = `${root}/execution.py`;
  const frame = (line: number, fn: string, code: string, marker?: string) =>
    `  File "${file}", line ${line}, in ${fn}\n    ${code}\n${marker === undefined ? '' : `    ${marker}\n`}`;
  const under = (code: string, expr: string) =>
    ' '.repeat(code.indexOf(expr)) + '^'.repeat(expr.length);
  const validateCall = 'm = await validate_inputs(prompt_id, prompt, o, validated)';
  const innerCall = 'r = await validate_inputs(prompt_id, prompt, o_id, validated)';
  const customCall =
    'ret = await _async_map_node_over_list(prompt_id, unique_id, obj_class, input_filtered, validate_function_name, v3_data=v3_data)';
  return {
    validatePrompt: frame(
      1043,
      'validate_prompt',
      validateCall,
      under(validateCall, 'await validate_inputs(prompt_id, prompt, o, validated)'),
    ),
    innerValidate: frame(
      868,
      'validate_inputs',
      innerCall,
      under(innerCall, 'await validate_inputs(prompt_id, prompt, o_id, validated)'),
    ),
    linkedNode: frame(
      818,
      'validate_inputs',
      "o_class_type = prompt[o_id]['class_type']",
      '               ~~~~~~^^^^^^',
    ),
    returnType: frame(
      820,
      'validate_inputs',
      'received_type = r[val[1]]',
      '                ~^^^^^^^^',
    ),
    nodeInputs: frame(
      795,
      'validate_inputs',
      "inputs = prompt[unique_id]['inputs']",
      '         ~~~~~~~~~~~~~~~~~^^^^^^^^^^',
    ),
    inputAccess: frame(826, 'validate_inputs', 'val = inputs[x]', '      ~~~~~~^^^'),
    customValidate: [
      frame(957, 'validate_inputs', customCall, under(customCall, customCall.slice(6))),
      frame(301, '_async_map_node_over_list', 'await process_inputs({})'),
      frame(291, 'process_inputs', 'result = f(**inputs)', '         ^^^^^^^^^^^'),
    ],
  };
}

const DEFAULT_ROOT = '/srv/ComfyUI';
const defaultFrames = buildFrames(DEFAULT_ROOT);

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

interface Result {
  valid: boolean;
  errors: ValidationError[];
}

function topError(type: string, message: string, details: string): ValidationError {
  return { type, message, details, extra_info: {} };
}

function fail(error: ValidationError, nodeErrors: NodeErrors = {}): PromptValidationResult {
  return { ok: false, error, nodeErrors };
}

function crash(err: unknown): never {
  if (err instanceof PyException) throw new PromptValidationCrash(err.pyType, err.message);
  throw err;
}

function withFrames(err: unknown, frames: string[]): unknown {
  if (err instanceof PyException)
    return new PyException(err.pyType, err.message, [...frames, ...err.frames]);
  return err;
}

/** `"{}".format(value)` for an input of this type. */
function numberText(value: unknown, asFloat: boolean): string {
  if (typeof value === 'number') return asFloat ? pyFloatRepr(value) : pyNumberRepr(value);
  return pyStr(value);
}

/** ComfyUI's validate_node_input (non-strict). */
function typesMatch(received: unknown, input: unknown): boolean {
  if (pyEquals(received, input)) return true;
  if (received === '*' || input === '*') return true;
  if (typeof received !== 'string' || typeof input !== 'string') return false;
  const a = new Set(received.split(',').map((t) => t.trim()));
  return input.split(',').some((t) => a.has(t.trim()));
}

/** Memoised node-info lookups over either form of {@link NodeInfoSource}. */
class NodeCatalog {
  readonly #source: NodeInfoSource;
  readonly #cache = new Map<string, NodeInfo | undefined>();

  constructor(source: NodeInfoSource) {
    this.#source = source;
  }

  get(classType: string): NodeInfo | undefined {
    if (this.#cache.has(classType)) return this.#cache.get(classType);
    const src = this.#source;
    const info =
      typeof src === 'function'
        ? src(classType)
        : Object.hasOwn(src, classType)
          ? src[classType]
          : undefined;
    this.#cache.set(classType, info);
    return info;
  }
}

/** One validation run over one prompt. */
class PromptValidator {
  private readonly validated = new Map<string, Result>();
  private readonly visiting: string[] = [];
  private readonly cycleErrors = new Map<string, ValidationError[]>();

  constructor(
    private readonly prompt: Record<string, unknown>,
    private readonly catalog: NodeCatalog,
    private readonly custom: PromptValidationOptions['customValidation'],
    private readonly frames: Frames,
  ) {}

  info(classType: unknown): NodeInfo {
    const info = typeof classType === 'string' ? this.catalog.get(classType) : undefined;
    if (!info) throw new PyException('KeyError', pyRepr(classType));
    return info;
  }

  /** validate_inputs(prompt_id, prompt, item, validated). */
  validateInputs(id: string): Result {
    const known = this.validated.get(id);
    if (known) return known;
    if (this.visiting.includes(id)) return this.cycle(id);
    this.visiting.push(id);
    try {
      return this.validateNode(id);
    } finally {
      this.visiting.pop();
    }
  }

  private cycle(id: string): Result {
    const path = [...this.visiting.slice(this.visiting.indexOf(id)), id];
    const label = (n: string) => {
      const node = this.prompt[n];
      return `${n} (${isDict(node) ? pyStr(node.class_type) : ''})`;
    };
    const error: ValidationError = {
      type: 'dependency_cycle',
      message: 'Dependency cycle detected',
      details: path.map(label).join(' -> '),
      extra_info: { node_id: id, cycle_nodes: path.slice(0, -1) },
    };
    this.cycleErrors.set(id, [error]);
    return { valid: false, errors: [error] };
  }

  private validateNode(id: string): Result {
    const f = this.frames;
    const node = this.prompt[id] as Record<string, unknown>;
    let inputs: unknown;
    try {
      inputs = pyGetStr(node, 'inputs');
    } catch (err) {
      throw withFrames(err, [f.nodeInputs]);
    }
    const classType = node.class_type as string;
    const info = this.info(classType);
    const errors: ValidationError[] = [];
    let valid = true;
    const validator = this.custom?.(classType, info);
    const custom = new Set(validator?.inputs ?? []);
    const hasCustom = validator !== undefined && custom.size > 0;

    const declared: Array<[string, InputSpec, 'required' | 'optional']> = [];
    for (const [name, spec] of Object.entries(info.input.required ?? {}))
      declared.push([name, spec, 'required']);
    for (const [name, spec] of Object.entries(info.input.optional ?? {})) {
      if (!Object.hasOwn(info.input.required ?? {}, name)) declared.push([name, spec, 'optional']);
    }

    for (const [x, spec, category] of declared) {
      const inputType = spec[0];
      const extra: JsonObject = spec.length > 1 && isDict(spec[1]) ? (spec[1] as JsonObject) : {};
      const config: JsonValue = [inputType, extra];
      let present: boolean;
      try {
        present = pyIn(inputs, x);
      } catch (err) {
        throw withFrames(err, [f.inputAccess]);
      }
      if (!present) {
        if (category === 'required') {
          errors.push({
            type: 'required_input_missing',
            message: 'Required input is missing',
            details: x,
            extra_info: { input_name: x },
          });
        }
        continue;
      }
      let val: unknown;
      try {
        val = pyGetStr(inputs, x);
      } catch (err) {
        throw withFrames(err, [f.inputAccess]);
      }
      const holder = inputs as Record<string, unknown>;

      if (Array.isArray(val)) {
        if (val.length !== 2) {
          errors.push({
            type: 'bad_linked_input',
            message: 'Bad linked input, must be a length-2 list of [node_id, slot_index]',
            details: x,
            extra_info: { input_name: x, input_config: config, received_value: val as JsonValue },
          });
          continue;
        }
        const oId = val[0];
        let linked: unknown;
        try {
          linked = pyGetStr(pyDictGet(this.prompt, oId), 'class_type');
        } catch (err) {
          throw withFrames(err, [f.linkedNode]);
        }
        let receivedType: string;
        try {
          receivedType = pyTupleGet(this.info(linked).output, val[1]);
        } catch (err) {
          throw withFrames(err, [f.returnType]);
        }
        if (!typesMatch(receivedType, inputType)) {
          errors.push({
            type: 'return_type_mismatch',
            message: 'Return type mismatch between linked nodes',
            details: `${x}, received_type(${pyStr(receivedType)}) mismatch input_type(${pyStr(inputType)})`,
            extra_info: {
              input_name: x,
              input_config: config,
              received_type: receivedType,
              linked_node: val as JsonValue,
            },
          });
          continue;
        }
        try {
          const r = this.validateInputs(oId as string);
          if (!r.valid) valid = false;
        } catch (err) {
          valid = false;
          const ex = err instanceof PyException ? err : new PyException('Exception', String(err));
          this.validated.set(oId as string, {
            valid: false,
            errors: [
              {
                type: 'exception_during_inner_validation',
                message: 'Exception when validating inner node',
                details: ex.message,
                extra_info: {
                  input_name: x,
                  input_config: config,
                  exception_message: ex.message,
                  exception_type: ex.pyType,
                  traceback: [f.innerValidate, ...ex.frames],
                  linked_node: val as JsonValue,
                },
              },
            ],
          });
        }
        continue;
      }

      if (isDict(val) && Object.hasOwn(val, '__value__')) {
        val = val.__value__;
        holder[x] = val;
      }
      try {
        if (inputType === 'INT') val = pyInt(val);
        else if (inputType === 'FLOAT') val = pyFloat(val);
        else if (inputType === 'STRING') val = pyStr(val);
        else if (inputType === 'BOOLEAN') val = pyBool(val);
        if (
          inputType === 'INT' ||
          inputType === 'FLOAT' ||
          inputType === 'STRING' ||
          inputType === 'BOOLEAN'
        ) {
          holder[x] = val;
        }
      } catch (err) {
        if (!(err instanceof PyException)) throw err;
        errors.push({
          type: 'invalid_input_type',
          message: `Failed to convert an input value to a ${pyStr(inputType)} value`,
          details: `${x}, ${pyStr(val)}, ${err.message}`,
          extra_info: {
            input_name: x,
            input_config: config,
            received_value: val as JsonValue,
            exception_message: err.message,
          },
        });
        continue;
      }

      if (hasCustom && custom.has(x)) continue;
      const asFloat = inputType === 'FLOAT';
      if (
        'min' in extra &&
        typeof val === 'number' &&
        typeof extra.min === 'number' &&
        val < extra.min
      ) {
        errors.push({
          type: 'value_smaller_than_min',
          message: `Value ${numberText(val, asFloat)} smaller than min of ${numberText(extra.min, asFloat)}`,
          details: x,
          extra_info: { input_name: x, input_config: config, received_value: val },
        });
        continue;
      }
      if (
        'max' in extra &&
        typeof val === 'number' &&
        typeof extra.max === 'number' &&
        val > extra.max
      ) {
        errors.push({
          type: 'value_bigger_than_max',
          message: `Value ${numberText(val, asFloat)} bigger than max of ${numberText(extra.max, asFloat)}`,
          details: x,
          extra_info: { input_name: x, input_config: config, received_value: val },
        });
        continue;
      }
      if (Array.isArray(inputType) || inputType === 'COMBO') {
        const options: unknown[] = Array.isArray(inputType)
          ? inputType
          : Array.isArray(extra.options)
            ? extra.options
            : [];
        if (!options.some((o) => pyEquals(o, val))) {
          const big = options.length > 20;
          errors.push({
            type: 'value_not_in_list',
            message: 'Value not in list',
            details: `${x}: '${pyStr(val)}' not in ${big ? `(list of length ${options.length})` : pyRepr(options)}`,
            extra_info: {
              input_name: x,
              input_config: big ? null : config,
              received_value: val as JsonValue,
            },
          });
        }
      }
    }

    if (hasCustom && validator) {
      const given: Record<string, JsonValue> = {};
      const holder = inputs as Record<string, unknown>;
      for (const name of custom) {
        if (!Object.hasOwn(holder, name)) {
          throw new PyException(
            'TypeError',
            `${classType}.VALIDATE_INPUTS() missing 1 required positional argument: '${name}'`,
            f.customValidate,
          );
        }
        const v = holder[name];
        given[name] = (Array.isArray(v) ? null : v) as JsonValue;
      }
      const r = validator.validate(given);
      if (r !== true) {
        for (const name of custom) {
          errors.push({
            type: 'custom_validation_failed',
            message: 'Custom validation failed for node',
            details: `${name} - ${r}`,
            extra_info: { input_name: name },
          });
        }
      }
    }

    const all = [...(this.cycleErrors.get(id) ?? []), ...errors];
    const result: Result =
      all.length > 0 || !valid ? { valid: false, errors: all } : { valid: true, errors: [] };
    this.validated.set(id, result);
    return result;
  }

  entries(): IterableIterator<[string, Result]> {
    return this.validated.entries();
  }

  setFailed(id: string, result: Result): void {
    this.validated.set(id, result);
  }
}

/** Iterating the prompt the way `for x in prompt` would, raising for what Python cannot iterate. */
function promptNodes(body: unknown): Record<string, unknown> | undefined {
  if (isDict(body)) return structuredClone(body);
  if ((typeof body === 'string' || Array.isArray(body)) && body.length === 0) return undefined;
  if (typeof body === 'string') {
    throw new PromptValidationCrash('TypeError', "string indices must be integers, not 'str'");
  }
  if (Array.isArray(body)) {
    throw new PromptValidationCrash(
      'TypeError',
      `list indices must be integers or slices, not ${pyTypeName(body[0])}`,
    );
  }
  throw new PromptValidationCrash('TypeError', `'${pyTypeName(body)}' object is not iterable`);
}

/**
 * Validates an API-format prompt (the `prompt` of a POST /prompt body) against node definitions,
 * exactly as ComfyUI 0.8.0 would. On success the returned prompt has widget values converted to
 * their declared types (and `{"__value__": x}` unwrapped) for the nodes that were validated; the
 * caller's object is never changed.
 *
 * @example
 * const v = validateApiPrompt(body.prompt, { nodes: await client.getObjectInfo() });
 * if (!v.ok) reply(400, { error: v.error, node_errors: v.nodeErrors });
 */
export function validateApiPrompt(
  body: unknown,
  options: PromptValidationOptions,
): PromptValidationResult {
  const catalog = new NodeCatalog(options.nodes);
  const frames =
    options.tracebackRoot === undefined || options.tracebackRoot === DEFAULT_ROOT
      ? defaultFrames
      : buildFrames(options.tracebackRoot);
  const targets = options.partialExecutionTargets;
  const prompt = promptNodes(body);
  const outputs: string[] = [];
  if (prompt) {
    for (const id of Object.keys(prompt)) {
      const node = prompt[id];
      let hasClass: boolean;
      try {
        hasClass = pyIn(node, 'class_type');
      } catch (err) {
        crash(err);
      }
      if (!hasClass) {
        return fail(
          topError(
            'invalid_prompt',
            'Cannot execute because a node is missing the class_type property.',
            `Node ID '#${id}'`,
          ),
        );
      }
      let classType: unknown;
      try {
        classType = pyGetStr(node, 'class_type');
      } catch (err) {
        crash(err);
      }
      if (Array.isArray(classType) || isDict(classType)) {
        throw new PromptValidationCrash('TypeError', `unhashable type: '${pyTypeName(classType)}'`);
      }
      const info = typeof classType === 'string' ? catalog.get(classType) : undefined;
      if (!info) {
        return fail(
          topError(
            'invalid_prompt',
            `Cannot execute because node ${pyStr(classType)} does not exist.`,
            `Node ID '#${id}'`,
          ),
        );
      }
      if (info.output_node === true && (targets === undefined || targets.includes(id))) {
        outputs.push(id);
      }
    }
  }
  if (!prompt || outputs.length === 0) {
    return fail(topError('prompt_no_outputs', 'Prompt has no outputs', ''));
  }

  const validator = new PromptValidator(prompt, catalog, options.customValidation, frames);
  const good: string[] = [];
  const failed: Array<[string, ValidationError[]]> = [];
  const nodeErrors: NodeErrors = {};
  for (const o of outputs) {
    let result: Result;
    try {
      result = validator.validateInputs(o);
    } catch (err) {
      const ex = err instanceof PyException ? err : new PyException('Exception', String(err));
      result = {
        valid: false,
        errors: [
          {
            type: 'exception_during_validation',
            message: 'Exception when validating node',
            details: ex.message,
            extra_info: {
              exception_type: ex.pyType,
              traceback: [frames.validatePrompt, ...ex.frames],
            },
          },
        ],
      };
      validator.setFailed(o, result);
    }
    if (result.valid) {
      good.push(o);
      continue;
    }
    failed.push([o, result.errors]);
    for (const [nodeId, r] of validator.entries()) {
      if (r.valid || r.errors.length === 0) continue;
      let entry = nodeErrors[nodeId];
      if (!entry) {
        const node = prompt[nodeId] as Record<string, unknown>;
        entry = { errors: r.errors, dependent_outputs: [], class_type: node.class_type as string };
        nodeErrors[nodeId] = entry;
      }
      entry.dependent_outputs.push(o);
    }
  }

  if (good.length === 0) {
    const lines: string[] = [];
    for (const [, errors] of failed)
      for (const e of errors) lines.push(`${e.message}: ${e.details}`);
    return fail(
      topError(
        'prompt_outputs_failed_validation',
        'Prompt outputs failed validation',
        lines.join('\n'),
      ),
      nodeErrors,
    );
  }
  return { ok: true, outputs: good, nodeErrors, prompt: prompt as unknown as ApiPrompt };
}

// ---------------------------------------------------------------------------------------------
// Upload inputs (LoadImage-like nodes)
// ---------------------------------------------------------------------------------------------

/** Input-spec flags that mark an input naming an uploaded file, and ComfyUI's word for it. */
const UPLOAD_FLAGS: ReadonlyArray<readonly [string, string]> = [
  ['image_upload', 'image'],
  ['video_upload', 'video'],
  ['audio_upload', 'audio'],
];

/** An input of a node that names a file in the instance's input folder. */
export interface FileInput {
  /** Input name (`image`). */
  input: string;
  /** `image | video | audio`: the word ComfyUI uses in its "Invalid <kind> file" message. */
  kind: string;
  /** The files the instance listed for it (its combo options). */
  options: string[];
}

/**
 * The inputs of a node that name uploaded files: combo inputs flagged `image_upload`,
 * `video_upload` or `audio_upload` in `/object_info` (LoadImage's `image`, LoadAudio's `audio`, ...).
 *
 * @example
 * fileInputs(objectInfo.LoadImage); // [{ input: 'image', kind: 'image', options: ['a.png'] }]
 */
export function fileInputs(info: NodeInfo): FileInput[] {
  const out: FileInput[] = [];
  const sections = [info.input.required ?? {}, info.input.optional ?? {}];
  for (const section of sections) {
    for (const [name, spec] of Object.entries(section)) {
      const extra = spec.length > 1 && isDict(spec[1]) ? (spec[1] as JsonObject) : {};
      const flag = UPLOAD_FLAGS.find(([key]) => extra[key] === true);
      if (!flag || out.some((f) => f.input === name)) continue;
      const head = spec[0];
      const options = Array.isArray(head)
        ? head
        : head === 'COMBO' && Array.isArray(extra.options)
          ? extra.options
          : [];
      out.push({
        input: name,
        kind: flag[1],
        options: options.filter((o): o is string => typeof o === 'string'),
      });
    }
  }
  return out;
}

/**
 * A `customValidation` hook that treats upload inputs as ComfyUI's LoadImage does: the value must
 * name an existing file, else `Invalid image file: <value>` (`video` / `audio` for those uploads).
 * `exists` decides; by default a file exists when the instance lists it in the input's combo.
 *
 * @example
 * const jobFiles = new Set(['photo.png']);
 * validateApiPrompt(prompt, {
 *   nodes: objectInfo,
 *   customValidation: fileInputValidation((v, f) => jobFiles.has(v) || f.options.includes(v)),
 * });
 */
export function fileInputValidation(
  exists: (value: string, input: FileInput, classType: string) => boolean = (v, f) =>
    f.options.includes(v),
): (classType: string, info: NodeInfo) => CustomInputValidator | undefined {
  return (classType, info) => {
    const files = fileInputs(info);
    if (files.length === 0) return undefined;
    return {
      inputs: files.map((f) => f.input),
      validate(given) {
        for (const f of files) {
          const v = given[f.input];
          if (typeof v !== 'string' || !exists(v, f, classType)) {
            return `Invalid ${f.kind} file: ${typeof v === 'string' ? v : pyStr(v)}`;
          }
        }
        return true;
      },
    };
  };
}
