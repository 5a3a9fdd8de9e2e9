/**
 * Thrown by validatePrompt where ComfyUI itself would raise an uncaught exception while handling
 * the prompt (a prompt that is a number, a node that is not an object, ...). The server answers
 * these with aiohttp's plain-text 500 page.
 *
 * @example
 * try { validatePrompt(5, registry, env); } catch (e) { if (e instanceof PromptValidationCrash) send500(); }
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
