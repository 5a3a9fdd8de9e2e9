/**
 * The contract between the emulator's executor (which runs prompts) and its node set (what each
 * node class declares and does). The executor never looks inside a node; a node never touches the
 * queue, the sockets or the history.
 */
import type { PromptValidationResult } from '../../comfy/prompt-validation.js';
import type {
  ApiPrompt,
  JsonObject,
  JsonValue,
  NodeInfo,
  NodeOutput,
} from '../../comfy/protocol.js';

/** Where an emulated instance keeps files (ComfyUI's input / output / temp directories). */
export interface EmulatorDirs {
  input: string;
  output: string;
  temp: string;
}

/** What an instance "has": model files per folder (checkpoints, loras, upscale_models, ...). */
export type ModelLists = Record<string, string[]>;

/** Read-only view of the instance that node definitions and validation may consult. */
export interface NodeEnvironment {
  dirs: EmulatorDirs;
  models: ModelLists;
}

/** Thrown by `NodeContext.checkInterrupt` / `work` when an interrupt is pending. */
export class InterruptedError extends Error {
  constructor() {
    super('Processing interrupted');
    this.name = 'InterruptedError';
  }
}

/**
 * A failure raised by a node while it runs. Becomes `execution_error` with this exception type and
 * message (e.g. `IndexError`, `FileNotFoundError`, `torch.cuda.OutOfMemoryError`).
 */
export class NodeExecutionError extends Error {
  constructor(
    readonly exceptionType: string,
    message: string,
  ) {
    super(message);
    this.name = 'NodeExecutionError';
  }
}

/** Handed to a node while it runs. */
export interface NodeContext extends NodeEnvironment {
  promptId: string;
  nodeId: string;
  /**
   * Preview method in effect for this prompt (`--preview-method` overridden by
   * extra_data.preview_method); "none" means no latent previews.
   */
  previewMethod?: string;
  /** The whole (validated) prompt and its extra_data, e.g. for PNG metadata. */
  prompt: ApiPrompt;
  extraData: JsonObject;
  /** Report progress of this node; becomes `progress` + `progress_state` messages. */
  progress(value: number, max: number): void;
  /** Throws InterruptedError when an interrupt is pending. */
  checkInterrupt(): void;
  /**
   * Simulated GPU time: waits `ms` scaled by the instance's speed factor (and any per-node duration
   * override), checking for interrupts. Nodes call this instead of setTimeout.
   */
  work(ms: number): Promise<void>;
  /** Send a preview image to the prompt's client (binary frame type 1 or 4). */
  sendPreview(image: Uint8Array, mime: 'image/png' | 'image/jpeg'): void;
}

/** What a node returns: its outputs by index, and optional UI data (what `executed` carries). */
export interface NodeResult {
  outputs: unknown[];
  ui?: NodeOutput;
}

/** One node class. */
export interface NodeDefinition {
  /** Class name (`class_type`). */
  readonly name: string;
  /** Its /object_info entry; combo lists (files, models) may depend on the environment. */
  info(env: NodeEnvironment): NodeInfo;
  /**
   * Runs the node. `inputs` holds constants (already converted to their declared types) and the
   * resolved values of linked inputs.
   */
  run(inputs: Record<string, unknown>, ctx: NodeContext): Promise<NodeResult>;
  /**
   * Custom validation (like ComfyUI's VALIDATE_INPUTS), given the constant inputs it declares.
   * Returns true, or a message that becomes a `custom_validation_failed` error. Inputs it validates
   * skip the combo-list check (LoadImage's `image`).
   */
  validateInputs?(inputs: Record<string, JsonValue>, env: NodeEnvironment): true | string;
  /** Names of the inputs `validateInputs` takes over. */
  readonly customValidatedInputs?: readonly string[];
  /**
   * Part of the cache key besides the inputs (ComfyUI's IS_CHANGED), e.g. a file's hash. `NaN`
   * means "never cached".
   */
  isChanged?(inputs: Record<string, JsonValue>, env: NodeEnvironment): string | number;
  /** Node id is part of the cache key (ComfyUI's NOT_IDEMPOTENT). */
  readonly notIdempotent?: boolean;
}

/** All node classes of an emulated instance. */
export interface NodeRegistry {
  get(classType: string): NodeDefinition | undefined;
  names(): string[];
  /** GET /object_info body. */
  objectInfo(env: NodeEnvironment): Record<string, NodeInfo>;
}

/** Result of validating a prompt the way POST /prompt does (the shared validator's result). */
export type PromptValidation = PromptValidationResult;
