/** GET/POST /queue, POST /interrupt and POST /free, as ComfyUI answers them. */
import type { AppContext } from '../app-context.js';
import { parseJsonBody } from '../http/body.js';
import { sendEmpty, sendJson } from '../http/reply.js';
import type { Router } from '../http/router.js';
import { queueItemJson } from '../prompt-queue.js';
import { pyContains, pyGet, pyGetItem, pyIter, truthy } from '../py-values.js';

/**
 * @example
 * registerQueueRoutes(router, app);
 */
export function registerQueueRoutes(router: Router, app: AppContext): void {
  router.add('GET', '/queue', ({ res }) => {
    const running = app.queue.runningEntries().map(queueItemJson).join(', ');
    const pending = app.queue.pendingEntries().map(queueItemJson).join(', ');
    sendJson(res, 200, `{"queue_running": [${running}], "queue_pending": [${pending}]}`);
  });

  router.add('POST', '/queue', async ({ res, body }) => {
    const data = parseJsonBody(await body());
    if (pyContains(data, 'clear') && truthy(pyGetItem(data, 'clear'))) app.queue.wipeQueue();
    if (pyContains(data, 'delete')) {
      for (const id of pyIter(pyGetItem(data, 'delete'))) {
        app.queue.deleteQueueItem((entry) => entry.promptId === id);
      }
    }
    sendEmpty(res, 200);
  });

  router.add('POST', '/interrupt', async ({ res, body }) => {
    const raw = await body();
    let data: unknown;
    try {
      data = parseJsonBody(raw);
    } catch (err) {
      // Only a JSON syntax error counts as "no body"; bad UTF-8 is a 500 in ComfyUI too.
      if (!(err instanceof SyntaxError)) throw err;
      data = {};
    }
    const promptId = pyGet(data, 'prompt_id');
    if (truthy(promptId)) {
      if (typeof promptId === 'string' && app.queue.isRunning(promptId)) app.executor.interrupt();
    } else {
      app.executor.interrupt();
    }
    sendEmpty(res, 200);
  });

  router.add('POST', '/free', async ({ res, body }) => {
    const data = parseJsonBody(await body());
    const unload = pyGet(data, 'unload_models');
    const free = pyGet(data, 'free_memory');
    if (truthy(unload)) app.queue.setFlag('unload_models', true);
    if (truthy(free)) app.queue.setFlag('free_memory', true);
    sendEmpty(res, 200);
  });
}
