/**
 * Read-only routes about the instance: /system_stats, /features, /object_info, /models,
 * /embeddings, /extensions, and the small frontend-support routes (/users, /settings, /i18n, ...).
 */
import { freemem, totalmem } from 'node:os';
import path from 'node:path';
import type { AppContext } from '../app-context.js';
import { serializeObjectInfo } from '../app-context.js';
import { MODEL_FOLDERS, SYSTEM_CONSTANTS } from '../defaults.js';
import { parseJsonBody } from '../http/body.js';
import { sendEmpty, sendJson, sendText } from '../http/reply.js';
import type { Router } from '../http/router.js';
import { pyJson } from '../py-json.js';
import { isDict } from '../py-values.js';

const MODEL_EXTENSIONS = ['.ckpt', '.pt', '.pt2', '.bin', '.pth', '.safetensors', '.pkl', '.sft'];

/** The /system_stats body. */
export function systemStats(app: AppContext): unknown {
  const ramTotal = totalmem();
  const ramFree = freemem();
  const device = app.device;
  const cpu = device.type === 'cpu';
  return {
    system: {
      os: process.platform,
      ram_total: ramTotal,
      ram_free: ramFree,
      comfyui_version: app.version,
      required_frontend_version: SYSTEM_CONSTANTS.required_frontend_version,
      installed_templates_version: SYSTEM_CONSTANTS.installed_templates_version,
      required_templates_version: SYSTEM_CONSTANTS.required_templates_version,
      python_version: SYSTEM_CONSTANTS.python_version,
      pytorch_version: cpu ? '2.5.1+cpu' : '2.5.1+cu124',
      embedded_python: SYSTEM_CONSTANTS.embedded_python,
      argv: app.argv,
    },
    devices: [
      cpu
        ? {
            name: device.name,
            type: 'cpu',
            index: null,
            vram_total: ramTotal,
            vram_free: ramFree,
            torch_vram_total: ramTotal,
            torch_vram_free: ramFree,
          }
        : {
            name: device.name,
            type: device.type,
            index: 0,
            vram_total: device.vram_total,
            vram_free: device.vram_free,
            torch_vram_total: 0,
            torch_vram_free: 0,
          },
    ],
  };
}

function modelFolders(app: AppContext): string[] {
  const folders = [...MODEL_FOLDERS];
  for (const key of Object.keys(app.models)) if (!folders.includes(key)) folders.push(key);
  return folders;
}

/**
 * @example
 * registerSystemRoutes(router, app);
 */
export function registerSystemRoutes(router: Router, app: AppContext): void {
  router.add('GET', '/system_stats', ({ res }) => sendJson(res, 200, pyJson(systemStats(app))));
  router.add('GET', '/features', ({ res }) => sendJson(res, 200, app.featuresJson()));

  router.add('GET', '/object_info', ({ res }) => {
    sendJson(res, 200, serializeObjectInfo(app.registry.objectInfo(app.env())));
  });
  router.add('GET', '/object_info/{node_class}', ({ res, params }) => {
    const name = params.node_class ?? '';
    const definition = app.registry.get(name);
    if (definition === undefined) return sendJson(res, 200, '{}');
    sendJson(res, 200, serializeObjectInfo({ [name]: definition.info(app.env()) }));
  });

  router.add('GET', '/models', ({ res }) => sendJson(res, 200, pyJson(modelFolders(app))));
  router.add('GET', '/models/{folder}', ({ res, params }) => {
    const folder = params.folder ?? '';
    if (!modelFolders(app).includes(folder)) return sendEmpty(res, 404);
    sendJson(res, 200, pyJson([...(app.models[folder] ?? [])].sort()));
  });
  router.add('GET', '/embeddings', ({ res }) => {
    const names = (app.models.embeddings ?? []).map((f) =>
      f.slice(0, f.length - path.extname(f).length),
    );
    sendJson(res, 200, pyJson(names));
  });
  router.add('GET', '/extensions', ({ res }) => sendJson(res, 200, '[]'));
  router.add('GET', '/view_metadata/{folder_name}', ({ res }) => sendEmpty(res, 404));

  router.add('GET', '/experiment/models', ({ res }) => {
    const folders = modelFolders(app)
      .filter((f) => f !== 'configs' && f !== 'custom_nodes')
      .map((name) => ({
        name,
        folders: [path.join(app.dirs.user, '..', 'models', name)],
        extensions: MODEL_EXTENSIONS,
      }));
    sendJson(res, 200, pyJson(folders));
  });

  router.add('GET', '/users', ({ res }) => {
    sendJson(res, 200, '{"storage": "server", "migrated": true}');
  });
  const settings: Record<string, unknown> = {};
  router.add('GET', '/settings', ({ res }) => sendJson(res, 200, pyJson(settings)));
  router.add('POST', '/settings', async ({ res, body }) => {
    const data = parseJsonBody(await body());
    if (!isDict(data)) throw new TypeError('settings must be an object');
    Object.assign(settings, data);
    sendEmpty(res, 200);
  });
  router.add('GET', '/settings/{id}', ({ res, params }) => {
    sendJson(res, 200, pyJson(settings[params.id ?? ''] ?? null));
  });
  router.add('POST', '/settings/{id}', async ({ res, params, body }) => {
    settings[params.id ?? ''] = parseJsonBody(await body());
    sendEmpty(res, 200);
  });
  router.add('GET', '/userdata', ({ res, query }) => {
    // Workflows and user files are not emulated: no directory exists.
    const dir = query.get('dir') ?? '';
    if (dir === '') return sendText(res, 400, 'Directory not provided');
    sendText(res, 404, 'Directory not found');
  });
  router.add('GET', '/i18n', ({ res }) => sendJson(res, 200, '{}'));
  router.add('GET', '/workflow_templates', ({ res }) => sendJson(res, 200, '{}'));
  router.add('GET', '/global_subgraphs', ({ res }) => sendJson(res, 200, '{}'));
}
