/**
 * POST /prompt validation, reproducing ComfyUI's `validate_prompt` / `validate_inputs` (0.8.0):
 * the same checks in the same order, the same error objects and messages, the same quirks
 * (`details` of the top-level error only lists the outputs' own errors; nodes invalid only because
 * of something upstream are not listed; `dependent_outputs` collects every failing output seen
 * after a node failed). Dependency cycles are reported as `dependency_cycle` errors, as newer
 * servers do, instead of recursing until Python's stack overflows.
 *
 * Cases where Python itself would raise outside the validator's try blocks (a prompt that is a
 * number, a node that is not an object, ...) throw `PromptValidationCrash`: the server answers those
 * with aiohttp's 500.
 */
import type {
  ApiPrompt,
  InputSpec,
  JsonObject,
  JsonValue,
  NodeErrors,
  NodeInfo,
  ValidationError,
} from '../../comfy/protocol.js';
import { pyFloatRepr, pyNumberRepr } from '../nodes/python.js';
import type {
  NodeDefinition,
  NodeEnvironment,
  NodeRegistry,
  PromptValidation,
} from '../nodes/types.js';
import { PromptValidationCrash } from './prompt-validation-crash.js';
import {
  isDict,
  PyException,
  pyBool,
  pyDictGet,
  pyEquals,
  pyFloat,
  pyGetStr,
  pyIn,
  pyInt,
  pyRepr,
  pyStr,
  pyTupleGet,
  pyTypeName,
} from './py-ops.js';
import {
  CUSTOM_VALIDATE_FRAMES,
  INNER_VALIDATE_FRAME,
  INPUT_ACCESS_FRAME,
  LINKED_NODE_FRAME,
  NODE_INPUTS_FRAME,
  RETURN_TYPE_FRAME,
  VALIDATE_PROMPT_FRAME,
} from './tracebacks.js';

interface Result {
  valid: boolean;
  errors: ValidationError[];
}

function topError(type: string, message: string, details: string): ValidationError {
  return { type, message, details, extra_info: {} };
}

function fail(error: ValidationError, nodeErrors: NodeErrors = {}): PromptValidation {
  return { ok: false, error, nodeErrors };
}

function crash(err: unknown): never {
  if (err instanceof PyException) throw new PromptValidationCrash(err.pyType, err.message);
  throw err;
}

/** Formats a number the way `"{}".format(value)` would for an input of this type. */
function numberText(value: unknown, asFloat: boolean): string {
  if (typeof value === 'number') return asFloat ? pyFloatRepr(value) : pyNumberRepr(value);
  return pyStr(value);
}

function isOutputNode(def: NodeDefinition, info: () => NodeInfo): boolean {
  const flag = (def as { isOutputNode?: unknown }).isOutputNode;
  return typeof flag === 'boolean' ? flag : info().output_node === true;
}

/** One validation run over one prompt. */
class PromptValidator {
  private readonly infos = new Map<string, NodeInfo>();
  private readonly validated = new Map<string, Result>();
  private readonly visiting: string[] = [];
  private readonly cycleErrors = new Map<string, ValidationError[]>();

  constructor(
    private readonly prompt: Record<string, unknown>,
    private readonly registry: NodeRegistry,
    private readonly env: NodeEnvironment,
  ) {}

  info(classType: string): NodeInfo {
    let info = this.infos.get(classType);
    if (!info) {
      const def = this.registry.get(classType);
      if (!def) throw new PyException('KeyError', pyRepr(classType));
      info = def.info(this.env);
      this.infos.set(classType, info);
    }
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
    const start = this.visiting.indexOf(id);
    const path = [...this.visiting.slice(start), id];
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
    const node = this.prompt[id] as Record<string, unknown>;
    let inputs: unknown;
    try {
      inputs = pyGetStr(node, 'inputs');
    } catch (err) {
      throw withFrames(err, [NODE_INPUTS_FRAME]);
    }
    const classType = node.class_type as string;
    const def = this.registry.get(classType) as NodeDefinition;
    const info = this.info(classType);
    const errors: ValidationError[] = [];
    let valid = true;
    const custom = new Set(def.customValidatedInputs ?? []);
    const hasCustom = def.validateInputs !== undefined && custom.size > 0;

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
        throw withFrames(err, [INPUT_ACCESS_FRAME]);
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
        throw withFrames(err, [INPUT_ACCESS_FRAME]);
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
          throw withFrames(err, [LINKED_NODE_FRAME]);
        }
        let receivedType: string;
        try {
          receivedType = pyTupleGet(this.info(linked as string).output, val[1]);
        } catch (err) {
          throw withFrames(err, [RETURN_TYPE_FRAME]);
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
                  traceback: [INNER_VALIDATE_FRAME, ...ex.frames],
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

    if (hasCustom && def.validateInputs) {
      const given: Record<string, JsonValue> = {};
      const holder = inputs as Record<string, unknown>;
      for (const name of custom) {
        if (!Object.hasOwn(holder, name)) {
          throw new PyException(
            'TypeError',
            `${classType}.VALIDATE_INPUTS() missing 1 required positional argument: '${name}'`,
            CUSTOM_VALIDATE_FRAMES,
          );
        }
        const v = holder[name];
        given[name] = (Array.isArray(v) ? null : v) as JsonValue;
      }
      const r = def.validateInputs(given, this.env);
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

    const own = this.cycleErrors.get(id) ?? [];
    const all = [...own, ...errors];
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

function withFrames(err: unknown, frames: string[]): unknown {
  if (err instanceof PyException)
    return new PyException(err.pyType, err.message, [...frames, ...err.frames]);
  return err;
}

/** ComfyUI's validate_node_input (non-strict). */
function typesMatch(received: unknown, input: unknown): boolean {
  if (pyEquals(received, input)) return true;
  if (received === '*' || input === '*') return true;
  if (typeof received !== 'string' || typeof input !== 'string') return false;
  const a = new Set(received.split(',').map((t) => t.trim()));
  return input.split(',').some((t) => a.has(t.trim()));
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
 * Validates the `prompt` of a POST /prompt body like ComfyUI's validate_prompt. On success the
 * returned prompt has widget values converted to their declared types (and `{"__value__": x}`
 * unwrapped) for the nodes that were validated, as ComfyUI mutates it.
 *
 * @example
 * const v = validatePrompt(body.prompt, registry, env, body.partial_execution_targets);
 * if (!v.ok) reply(400, { error: v.error, node_errors: v.nodeErrors });
 */
export function validatePrompt(
  body: unknown,
  registry: NodeRegistry,
  env: NodeEnvironment,
  partialExecutionTargets?: readonly string[],
): PromptValidation {
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
      const def = typeof classType === 'string' ? registry.get(classType) : undefined;
      if (!def) {
        return fail(
          topError(
            'invalid_prompt',
            `Cannot execute because node ${pyStr(classType)} does not exist.`,
            `Node ID '#${id}'`,
          ),
        );
      }
      const isOutput = isOutputNode(def, () => def.info(env));
      if (
        isOutput &&
        (partialExecutionTargets === undefined || partialExecutionTargets.includes(id))
      ) {
        outputs.push(id);
      }
    }
  }
  if (!prompt || outputs.length === 0) {
    return fail(topError('prompt_no_outputs', 'Prompt has no outputs', ''));
  }

  const validator = new PromptValidator(prompt, registry, env);
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
              traceback: [VALIDATE_PROMPT_FRAME, ...ex.frames],
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
