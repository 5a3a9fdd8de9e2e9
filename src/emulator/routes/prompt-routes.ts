/**
 * GET /prompt and POST /prompt, following ComfyUI's post_prompt step by step: the priority number
 * (counter consumed by every parsed body without `number`), the prompt_id check, validation,
 * extra_data/client_id, sensitive keys, then the queue.
 */
import { randomUUID } from 'node:crypto';
import type { ApiPrompt, JsonObject } from '../../comfy/protocol.js';
import type { AppContext } from '../app-context.js';
import { parseJsonBody } from '../http/body.js';
import { sendJson, sendServerError } from '../http/reply.js';
import type { Router } from '../http/router.js';
import type { QueueEntry } from '../prompt-queue.js';
import { PyFloat, pyJson, pyString } from '../py-json.js';
import { isDict, pyContains, pyFloat, pyGetItem, truthy } from '../py-values.js';
import { validatePrompt } from '../validation/index.js';

const SENSITIVE_EXTRA_DATA_KEYS = ['auth_token_comfy_org', 'api_key_comfy_org'];
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function errorBody(type: string, message: string, details: string): string {
  return pyJson({ error: { type, message, details, extra_info: {} }, node_errors: {} });
}

/**
 * @example
 * registerPromptRoutes(router, app);
 */
export function registerPromptRoutes(router: Router, app: AppContext): void {
  router.add('GET', '/prompt', ({ res }) => {
    sendJson(res, 200, `{"exec_info": {"queue_remaining": ${app.queue.remaining()}}}`);
  });

  router.add('POST', '/prompt', async ({ res, body }) => {
    let data: unknown;
    try {
      data = parseJsonBody(await body());
    } catch (err) {
      if (err instanceof SyntaxError || err instanceof TypeError) return sendServerError(res);
      throw err;
    }
    // Anything Python would raise on below becomes aiohttp's 500 (PythonError is caught upstream).
    let number: number;
    let numberIsFloat = false;
    if (pyContains(data, 'number')) {
      number = pyFloat(pyGetItem(data, 'number'));
      numberIsFloat = true;
    } else {
      number = app.counter;
      if (pyContains(data, 'front') && truthy(pyGetItem(data, 'front'))) number = -number;
      app.counter++;
    }
    if (!pyContains(data, 'prompt')) {
      return sendJson(res, 400, errorBody('no_prompt', 'No prompt provided', 'No prompt provided'));
    }
    const json = data as Record<string, unknown>;
    const prompt = pyGetItem(data, 'prompt');
    const requestedId = json.prompt_id;
    let promptId: string;
    if (requestedId === undefined || requestedId === null) {
      promptId = randomUUID();
    } else if (typeof requestedId === 'string' && CANONICAL_UUID.test(requestedId)) {
      promptId = requestedId;
    } else {
      const message = `Invalid prompt_id: ${typeof requestedId === 'string' ? requestedId : JSON.stringify(requestedId)} is not a canonical UUID`;
      return sendJson(res, 400, errorBody('invalid_prompt_id', message, message));
    }
    let targets: string[] | undefined;
    if (Array.isArray(json.partial_execution_targets)) {
      targets = json.partial_execution_targets.filter((t): t is string => typeof t === 'string');
    }

    const validation = validatePrompt(prompt, app.registry, app.env(), targets);

    const extraData: unknown = Object.hasOwn(json, 'extra_data') ? json.extra_data : {};
    if (Object.hasOwn(json, 'client_id')) {
      if (!isDict(extraData)) return sendServerError(res);
      extraData.client_id = json.client_id as JsonObject[string];
    }
    if (!validation.ok) {
      return sendJson(
        res,
        400,
        pyJson({ error: validation.error, node_errors: validation.nodeErrors }),
      );
    }
    if (!isDict(extraData)) return sendServerError(res);
    const extra = extraData as JsonObject;
    const sensitive: JsonObject = {};
    for (const key of SENSITIVE_EXTRA_DATA_KEYS) {
      if (Object.hasOwn(extra, key)) {
        sensitive[key] = extra[key] ?? null;
        delete extra[key];
      }
    }
    extra.create_time = Date.now();
    const validated: ApiPrompt = validation.prompt;
    const entry: QueueEntry = {
      number,
      numberIsFloat,
      promptId,
      prompt: validated,
      extraData: extra,
      outputs: validation.outputs,
      sensitive,
      promptJson: () => app.promptJson(validated),
    };
    app.stats.prompts.accepted++;
    app.queue.put(entry);
    const numberJson = numberIsFloat ? pyJson(new PyFloat(number)) : pyJson(number);
    sendJson(
      res,
      200,
      `{"prompt_id": ${pyString(promptId)}, "number": ${numberJson}, "node_errors": ${pyJson(validation.nodeErrors)}}`,
    );
  });
}
