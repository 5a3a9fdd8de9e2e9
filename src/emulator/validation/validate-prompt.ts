/**
 * POST /prompt validation for the emulator: the shared ComfyUI-exact validator
 * ({@link validateApiPrompt}) fed with the emulated node classes' `/object_info` entries and their
 * own `validateInputs` hooks (LoadImage's file check, ...).
 */
import {
  type CustomInputValidator,
  type PromptValidationOptions,
  validateApiPrompt,
} from '../../comfy/prompt-validation.js';
import type { NodeInfo } from '../../comfy/protocol.js';
import { COMFY_ROOT } from '../nodes/node-error.js';
import type { NodeEnvironment, NodeRegistry, PromptValidation } from '../nodes/types.js';

/**
 * The validator's view of one registry. Built once per registry (validation runs on every
 * POST /prompt); `env` is set for each call, which is safe because validation is synchronous.
 * Infos are still built per call (at most once per class): combo lists (input files, models)
 * depend on the environment and the disk.
 */
class RegistrySource {
  env: NodeEnvironment | undefined;
  readonly options: PromptValidationOptions;
  readonly partialOptions: PromptValidationOptions;

  constructor(registry: NodeRegistry) {
    const nodes = (classType: string): NodeInfo | undefined =>
      registry.get(classType)?.info(this.env as NodeEnvironment);
    const customValidation = (classType: string): CustomInputValidator | undefined => {
      const def = registry.get(classType);
      const inputs = def?.customValidatedInputs ?? [];
      if (def?.validateInputs === undefined || inputs.length === 0) return undefined;
      const env = this.env as NodeEnvironment;
      return { inputs, validate: (given) => def.validateInputs?.(given, env) ?? true };
    };
    this.options = { nodes, customValidation, tracebackRoot: COMFY_ROOT };
    this.partialOptions = { ...this.options };
  }
}

const sources = new WeakMap<NodeRegistry, RegistrySource>();

/**
 * Validates the `prompt` of a POST /prompt body like ComfyUI's validate_prompt. On success the
 * returned prompt has widget values converted to their declared types (and `{"__value__": x}`
 * unwrapped) for the nodes that were validated, as ComfyUI mutates it; the caller's object is
 * never changed. Throws `PromptValidationCrash` where ComfyUI answers a plain 500.
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
  let source = sources.get(registry);
  if (source === undefined) {
    source = new RegistrySource(registry);
    sources.set(registry, source);
  }
  const outer = source.env;
  source.env = env;
  try {
    if (partialExecutionTargets === undefined) return validateApiPrompt(body, source.options);
    source.partialOptions.partialExecutionTargets = partialExecutionTargets;
    return validateApiPrompt(body, source.partialOptions);
  } finally {
    source.env = outer;
  }
}
