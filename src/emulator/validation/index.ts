/**
 * Prompt validation as ComfyUI's POST /prompt does it (see `validatePrompt`).
 *
 * @example
 * import { validatePrompt, PromptValidationCrash } from './validation/index.js';
 * const v = validatePrompt(body.prompt, registry, env, body.partial_execution_targets);
 */
export { PromptValidationCrash } from '../../comfy/prompt-validation.js';
export { validatePrompt } from './validate-prompt.js';
