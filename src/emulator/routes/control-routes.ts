/**
 * Control routes for emulators running as child processes (tests, benchmarks): /__emulator/stats,
 * /__emulator/faults, /__emulator/speed, /__emulator/models and /__emulator/exit. They are not
 * part of ComfyUI: not counted in stats, not affected by faults.
 */
import type { AppContext } from '../app-context.js';
import { checkFaultConfig } from '../fault-state.js';
import { parseJsonBody } from '../http/body.js';
import { sendEmpty } from '../http/reply.js';
import { Router } from '../http/router.js';
import type { ModelLists } from '../nodes/types.js';
import type { FaultConfig } from '../options.js';

function sendPlainJson(res: Parameters<typeof sendEmpty>[0], status: number, value: unknown): void {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': body.byteLength,
  });
  res.end(body);
}

/** Parses a speed factor: a positive number, or "Infinity". */
export function parseSpeed(value: unknown): number | undefined {
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || Number.isNaN(n) || n <= 0) return undefined;
  return n;
}

/** Checks a model list object: folder → list of file names. */
export function checkModelLists(value: unknown): value is ModelLists {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  return Object.values(value).every(
    (files) => Array.isArray(files) && files.every((f) => typeof f === 'string'),
  );
}

/**
 * The control router (paths start with /__emulator/).
 *
 * @example
 * const control = controlRouter(app, { setSpeed, setModels, resetStats });
 */
export function controlRouter(
  app: AppContext,
  actions: {
    stats: () => unknown;
    resetStats: () => void;
    setSpeed: (speed: number) => void;
    setModels: (models: ModelLists) => void;
  },
): Router {
  const router = new Router();
  const readJson = async (body: () => Promise<Buffer>): Promise<unknown> => {
    try {
      return parseJsonBody(await body());
    } catch {
      return undefined;
    }
  };
  router.add('GET', '/__emulator/stats', ({ res }) => sendPlainJson(res, 200, actions.stats()));
  router.add('POST', '/__emulator/stats/reset', ({ res }) => {
    actions.resetStats();
    sendPlainJson(res, 200, actions.stats());
  });
  router.add('GET', '/__emulator/faults', ({ res }) => sendPlainJson(res, 200, app.faults.current));
  router.add('POST', '/__emulator/faults', async ({ res, body }) => {
    const data = await readJson(body);
    const problem = checkFaultConfig(data);
    if (problem !== undefined) return sendPlainJson(res, 400, { error: problem });
    app.faults.merge(data as FaultConfig);
    if (app.faults.current.dropWebSockets === true) app.hub.terminateAll();
    sendPlainJson(res, 200, app.faults.current);
  });
  router.add('POST', '/__emulator/faults/clear', ({ res }) => {
    app.faults.clear();
    sendPlainJson(res, 200, app.faults.current);
  });
  router.add('POST', '/__emulator/speed', async ({ res, body }) => {
    const data = await readJson(body);
    const raw =
      typeof data === 'object' && data !== null && !Array.isArray(data)
        ? (data as Record<string, unknown>).speed
        : data;
    const speed = parseSpeed(raw);
    if (speed === undefined) {
      return sendPlainJson(res, 400, {
        error: 'speed must be a number > 0 or "Infinity", e.g. {"speed": 4}',
      });
    }
    actions.setSpeed(speed);
    sendPlainJson(res, 200, { speed: Number.isFinite(speed) ? speed : 'Infinity' });
  });
  router.add('POST', '/__emulator/models', async ({ res, body }) => {
    const data = await readJson(body);
    if (!checkModelLists(data)) {
      return sendPlainJson(res, 400, {
        error: 'models must be an object of folder → list of file names',
      });
    }
    actions.setModels(data);
    sendPlainJson(res, 200, app.models);
  });
  router.add('POST', '/__emulator/exit', async ({ res, body }) => {
    const exit = app.onExitRequest;
    if (exit === undefined) return sendEmpty(res, 404);
    const data = await readJson(body);
    const rawCode =
      typeof data === 'object' && data !== null && !Array.isArray(data)
        ? (data as Record<string, unknown>).code
        : undefined;
    const code = typeof rawCode === 'number' && Number.isInteger(rawCode) ? rawCode : 1;
    res.once('finish', () => exit(code));
    sendPlainJson(res, 200, { exiting: code });
  });
  return router;
}
