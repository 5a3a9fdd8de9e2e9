/** GET /history (max_items, offset), GET /history/{prompt_id}, POST /history. */
import type { AppContext } from '../app-context.js';
import { parseJsonBody } from '../http/body.js';
import { sendEmpty, sendJson } from '../http/reply.js';
import type { Router } from '../http/router.js';
import { historyRecordJson } from '../prompt-queue.js';
import { pyString } from '../py-json.js';
import { pyContains, pyGetItem, pyInt, pyIter, truthy } from '../py-values.js';

/**
 * @example
 * registerHistoryRoutes(router, app);
 */
export function registerHistoryRoutes(router: Router, app: AppContext): void {
  router.add('GET', '/history', ({ res, query }) => {
    const maxText = query.get('max_items');
    const offsetText = query.get('offset');
    // int() of a bad value raises in ComfyUI: a 500 (PythonError is mapped upstream).
    const maxItems = maxText === null ? undefined : pyInt(maxText);
    const offset = offsetText === null ? -1 : pyInt(offsetText);
    const records = app.queue.historySlice(maxItems, offset);
    let out = '{';
    for (let i = 0; i < records.length; i++) {
      const record = records[i];
      if (record === undefined) continue;
      if (i > 0) out += ', ';
      out += `${pyString(record.entry.promptId)}: ${historyRecordJson(record)}`;
    }
    sendJson(res, 200, `${out}}`);
  });

  router.add('GET', '/history/{prompt_id}', ({ res, params }) => {
    const id = params.prompt_id ?? '';
    const record = app.queue.historyEntry(id);
    if (record === undefined) return sendJson(res, 200, '{}');
    sendJson(res, 200, `{${pyString(id)}: ${historyRecordJson(record)}}`);
  });

  router.add('POST', '/history', async ({ res, body }) => {
    const data = parseJsonBody(await body());
    if (pyContains(data, 'clear') && truthy(pyGetItem(data, 'clear'))) app.queue.wipeHistory();
    if (pyContains(data, 'delete')) {
      for (const id of pyIter(pyGetItem(data, 'delete'))) {
        if (typeof id === 'string') app.queue.deleteHistoryItem(id);
      }
    }
    sendEmpty(res, 200);
  });
}
