/**
 * startEmulator: one emulated ComfyUI instance on node:http — routes, origin middleware, faults,
 * the WebSocket endpoint, the queue and the executor — answering like ComfyUI 0.8.0's aiohttp
 * server does.
 */
import { mkdir, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { type AppContext, classInfoLookup, type Dirs, serializePrompt } from './app-context.js';
import {
  DEFAULT_CUDA_DEVICE,
  DEFAULT_MAX_HISTORY,
  DEFAULT_MAX_UPLOAD_MB,
  DEFAULT_VERSION,
  defaultModels,
} from './defaults.js';
import { StatsCounter } from './emulator-stats.js';
import { Executor } from './executor.js';
import { FaultState } from './fault-state.js';
import { BodyTooLargeError, readBody } from './http/body.js';
import { isForbiddenOrigin } from './http/origin-check.js';
import {
  reasonPhrase,
  SERVER_HEADER,
  sendEmpty,
  sendHttpError,
  sendServerError,
  sendText,
} from './http/reply.js';
import { type RequestContext, Router } from './http/router.js';
import { createNodeRegistry } from './nodes/index.js';
import type { ModelLists, NodeEnvironment } from './nodes/types.js';
import type { EmulatorOptions, RunningEmulator } from './options.js';
import { PromptQueue } from './prompt-queue.js';
import { PyFloat, pyJson } from './py-json.js';
import { controlRouter } from './routes/control-routes.js';
import { registerFileRoutes } from './routes/file-routes.js';
import { registerHistoryRoutes } from './routes/history-routes.js';
import { registerInternalRoutes } from './routes/internal-routes.js';
import { registerJobsRoutes } from './routes/jobs-routes.js';
import { registerPromptRoutes } from './routes/prompt-routes.js';
import { registerQueueRoutes } from './routes/queue-routes.js';
import { registerSystemRoutes } from './routes/system-routes.js';
import { createScratchBase } from './scratch-dirs.js';
import { WsHub } from './ws-hub.js';

/** Options only main.ts uses (a child process may be told to exit). */
export interface ProcessHooks {
  onExitRequest?: (code: number) => void;
  /** Preview method from --preview-method (default "none"). */
  previewMethod?: string;
}

/** Parses "0.8.0" and compares with a minimum "major.minor". */
function versionAtLeast(version: string, major: number, minor: number): boolean {
  const [a = 0, b = 0] = version.split('.').map((p) => Number.parseInt(p, 10) || 0);
  return a > major || (a === major && b >= minor);
}

async function prepareDirs(options: EmulatorOptions): Promise<{ dirs: Dirs; cleanup: string[] }> {
  const cleanup: string[] = [];
  let base = options.baseDirectory;
  if (base === undefined) {
    base = await createScratchBase();
    cleanup.push(base);
  }
  base = path.resolve(base);
  const dirs: Dirs = {
    input: path.resolve(options.inputDirectory ?? path.join(base, 'input')),
    output: path.resolve(options.outputDirectory ?? path.join(base, 'output')),
    // As ComfyUI: --temp-directory DIR means DIR/temp, wiped at start and at exit.
    temp: path.resolve(options.tempDirectory ?? base, 'temp'),
    user: path.resolve(options.userDirectory ?? path.join(base, 'user')),
  };
  await rm(dirs.temp, { recursive: true, force: true });
  for (const dir of Object.values(dirs)) await mkdir(dir, { recursive: true });
  cleanup.unshift(dirs.temp);
  return { dirs, cleanup };
}

function rawHttpError(socket: Duplex, status: number, text: string): void {
  const body = Buffer.from(text);
  socket.end(
    `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.byteLength}\r\nServer: ${SERVER_HEADER}\r\nConnection: close\r\n\r\n${text}`,
  );
}

function splitUrl(url: string): { rawPath: string; search: string } {
  const q = url.indexOf('?');
  return q < 0
    ? { rawPath: url, search: '' }
    : { rawPath: url.slice(0, q), search: url.slice(q + 1) };
}

/**
 * Starts an emulated ComfyUI instance.
 *
 * @example
 * const emu = await startEmulator({ port: 0, speed: Number.POSITIVE_INFINITY });
 * await fetch(`${emu.url}/system_stats`);
 * await emu.close();
 */
export async function startEmulator(
  options: EmulatorOptions = {},
  hooks: ProcessHooks = {},
): Promise<RunningEmulator> {
  const host = options.host ?? '127.0.0.1';
  const requestedPort = options.port ?? 8188;
  if (options.speed !== undefined && !(options.speed > 0)) {
    throw new RangeError(`speed must be > 0 (got ${options.speed})`);
  }
  const { dirs, cleanup } = await prepareDirs(options);
  let models: ModelLists = options.models ?? defaultModels();
  const registry = createNodeRegistry(
    options.nodePacks === undefined ? {} : { packs: options.nodePacks },
  );
  const env = (): NodeEnvironment => ({
    dirs: { input: dirs.input, output: dirs.output, temp: dirs.temp },
    models,
  });
  const maxUploadBytes = Math.round(
    (options.maxUploadSizeMb ?? DEFAULT_MAX_UPLOAD_MB) * 1024 * 1024,
  );
  const maxUploadIsFloat = options.maxUploadSizeMb !== undefined;
  const featuresJson = pyJson({
    supports_preview_metadata: true,
    max_upload_size: maxUploadIsFloat ? new PyFloat(maxUploadBytes) : maxUploadBytes,
    extension: { manager: { supports_v4: true } },
  });
  const faults = new FaultState();
  if (options.faults !== undefined) faults.merge(options.faults);
  const stats = new StatsCounter();
  let speed = options.speed ?? 1;
  const nodeDurations = { ...(options.nodeDurations ?? {}) };
  const classInfo = classInfoLookup(registry, env);
  const maxHistory = options.maxHistory ?? DEFAULT_MAX_HISTORY;

  // Built below; the queue's status callback needs the hub first.
  const hub = new WsHub({
    queueRemaining: () => queue.remaining(),
    serverFeatures: () => featuresJson,
  });
  const queue = new PromptQueue(maxHistory, (remaining) => {
    hub.sendJson('status', `{"status": {"exec_info": {"queue_remaining": ${remaining}}}}`, null);
  });
  const executor = new Executor({
    queue,
    hub,
    registry,
    env,
    speed: () => speed,
    nodeDurations: () => nodeDurations,
    faults,
    stats,
    classFacts: classInfo,
    previewMethod: hooks.previewMethod ?? 'none',
  });
  const device =
    options.device ??
    (options.cpu === true
      ? { name: 'cpu', type: 'cpu' as const, vram_total: 0, vram_free: 0 }
      : DEFAULT_CUDA_DEVICE);

  const app: AppContext = {
    dirs,
    get models() {
      return models;
    },
    set models(value: ModelLists) {
      models = value;
    },
    registry,
    queue,
    hub,
    executor,
    faults,
    stats,
    version: options.version ?? DEFAULT_VERSION,
    device,
    argv: options.argv ?? [
      'main.py',
      ...(options.cpu === true ? ['--cpu'] : []),
      '--listen',
      host,
      '--port',
      String(requestedPort),
    ],
    maxUploadBytes,
    maxUploadIsFloat,
    maxHistory,
    counter: 0,
    get speed() {
      return speed;
    },
    set speed(value: number) {
      speed = value;
    },
    startedAt: Date.now(),
    env,
    classInfo,
    promptJson: (prompt) => serializePrompt(prompt, classInfo),
    featuresJson: () => featuresJson,
    onExitRequest: hooks.onExitRequest,
  };

  const router = new Router();
  registerPromptRoutes(router, app);
  registerQueueRoutes(router, app);
  registerHistoryRoutes(router, app);
  registerSystemRoutes(router, app);
  registerFileRoutes(router, app);
  registerInternalRoutes(router, app);
  if (versionAtLeast(app.version, 0, 4)) registerJobsRoutes(router, app);
  const wsRoute = ({ req, res }: RequestContext): void => {
    const upgrade = req.headers.upgrade;
    sendText(
      res,
      400,
      `No WebSocket UPGRADE hdr: ${upgrade ?? 'None'}\n Can "Upgrade" only to "WebSocket".`,
    );
  };
  router.add('GET', '/ws', wsRoute);

  const control = controlRouter(app, {
    stats: () => stats.snapshot({ opened: hub.opened, open: hub.openCount }),
    resetStats: () => stats.reset(hub.opened),
    setSpeed: (value) => {
      speed = value;
    },
    setModels: (value) => {
      models = value;
    },
  });

  const hungSockets = new Set<Duplex>();

  const dispatch = (req: IncomingMessage, res: ServerResponse, rawPath: string, search: string) => {
    const method = req.method ?? 'GET';
    let query: URLSearchParams | undefined;
    const ctx: RequestContext = {
      req,
      res,
      method,
      path: rawPath,
      get query() {
        query ??= new URLSearchParams(search);
        return query;
      },
      params: {},
      body: () => readBody(req, maxUploadBytes),
    };
    if (
      isForbiddenOrigin(req.headers.host, req.headers.origin, headerValue(req, 'sec-fetch-site'))
    ) {
      stats.request(`${method} ${foldApi(rawPath)}`);
      return sendEmpty(res, 403);
    }
    if (method === 'OPTIONS') {
      stats.request(`${method} ${foldApi(rawPath)}`);
      return sendEmpty(res, 200);
    }
    const resolved = router.resolve(method, rawPath);
    if (resolved.kind === 'error') {
      stats.request(`${method} ${foldApi(rawPath)}`);
      const injected = faults.httpError(foldApi(rawPath), foldApi(rawPath));
      if (injected !== undefined) return sendInjected(res, injected);
      return sendHttpError(res, resolved.status, resolved.allow ? { Allow: resolved.allow } : {});
    }
    stats.request(`${method} ${resolved.template}`);
    const injected = faults.httpError(foldApi(rawPath), resolved.template);
    if (injected !== undefined) return sendInjected(res, injected);
    ctx.params = resolved.params;
    run(resolved.handler, ctx);
  };

  const run = (handler: (ctx: RequestContext) => void | Promise<void>, ctx: RequestContext) => {
    try {
      const result = handler(ctx);
      if (result !== undefined) result.catch((err: unknown) => fail(ctx, err));
    } catch (err) {
      fail(ctx, err);
    }
  };

  const fail = (ctx: RequestContext, err: unknown) => {
    if (err instanceof BodyTooLargeError) {
      if (ctx.res.headersSent) return ctx.res.destroy();
      sendText(ctx.res, 413, err.message, { Connection: 'close' });
      return;
    }
    sendServerError(ctx.res);
  };

  const server = createServer((req, res) => {
    const { rawPath, search } = splitUrl(req.url ?? '/');
    if (rawPath.startsWith('/__emulator/')) {
      const resolved = control.resolve(req.method ?? 'GET', rawPath);
      if (resolved.kind === 'error') return sendHttpError(res, resolved.status);
      return run(resolved.handler, {
        req,
        res,
        method: req.method ?? 'GET',
        path: rawPath,
        query: new URLSearchParams(search),
        params: resolved.params,
        body: () => readBody(req, maxUploadBytes),
      });
    }
    const current = faults.current;
    if (current.hang === true) {
      // Accept and never answer; close() destroys the connection.
      hungSockets.add(req.socket);
      return;
    }
    const delay = current.slowResponsesMs ?? 0;
    if (delay > 0) {
      setTimeout(() => dispatch(req, res, rawPath, search), delay);
      return;
    }
    dispatch(req, res, rawPath, search);
  });
  // aiohttp keeps idle connections 75 s; a hung instance must not time requests out either.
  server.keepAliveTimeout = 75_000;
  server.requestTimeout = 0;

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const { rawPath, search } = splitUrl(req.url ?? '/');
    if (faults.current.hang === true) {
      hungSockets.add(socket);
      return;
    }
    const folded = foldApi(rawPath);
    if (folded !== '/ws') {
      stats.request(`GET ${folded}`);
      return rawHttpError(socket, 404, '404: Not Found');
    }
    stats.request('GET /ws');
    if (
      isForbiddenOrigin(req.headers.host, req.headers.origin, headerValue(req, 'sec-fetch-site'))
    ) {
      return rawHttpError(socket, 403, '');
    }
    if (faults.current.dropWebSockets === true) {
      return rawHttpError(socket, 503, '503: Service Unavailable');
    }
    const upgrade = req.headers.upgrade;
    if (upgrade?.trim().toLowerCase() !== 'websocket') {
      return rawHttpError(
        socket,
        400,
        `No WebSocket UPGRADE hdr: ${upgrade ?? 'None'}\n Can "Upgrade" only to "WebSocket".`,
      );
    }
    const clientId = new URLSearchParams(search).get('clientId') ?? '';
    hub.upgrade(req, socket, head, clientId);
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(requestedPort, host, () => {
      server.off('error', onError);
      resolve();
    });
  }).catch(async (err: unknown) => {
    for (const dir of cleanup) await rm(dir, { recursive: true, force: true });
    throw err;
  });
  executor.start();

  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : requestedPort;
  // A wildcard bind is reached through loopback.
  const urlHost =
    host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  if (options.argv === undefined && requestedPort === 0) {
    app.argv.splice(app.argv.indexOf('--port') + 1, 1, String(port));
  }

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      server.close();
      hub.close();
      for (const socket of hungSockets) socket.destroy();
      hungSockets.clear();
      server.closeAllConnections();
      await executor.stop();
      for (const dir of cleanup) await rm(dir, { recursive: true, force: true });
    })();
    return closing;
  };

  return {
    url: `http://${urlHost}:${port}`,
    port,
    host,
    dirs: { ...dirs },
    stats: () => stats.snapshot({ opened: hub.opened, open: hub.openCount }),
    resetStats: () => stats.reset(hub.opened),
    setFaults: (update) => {
      faults.merge(update);
      if (faults.current.dropWebSockets === true) hub.terminateAll();
    },
    clearFaults: () => faults.clear(),
    setSpeed: (value) => {
      if (!(value > 0)) throw new RangeError(`speed must be > 0 (got ${value})`);
      speed = value;
    },
    setModels: (value) => {
      models = value;
    },
    close,
  };
}

function sendInjected(res: ServerResponse, status: number): void {
  if (status === 500) sendServerError(res);
  else sendHttpError(res, status);
}

/** "/api/x" → "/x" (the /api mirror), for stats keys and fault routes. */
function foldApi(rawPath: string): string {
  return rawPath.startsWith('/api/') ? rawPath.slice(4) : rawPath;
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
