/**
 * File routes: POST /upload/image and /upload/mask (dedupe by content, "name (1).ext" renaming,
 * overwrite, subfolder, type, path safety) and GET /view (annotated names, path safety, previews
 * and channels re-encoded with sharp, otherwise the file itself with Etag and Range support).
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { AppContext } from '../app-context.js';
import { sendFile } from '../http/file-response.js';
import { type FormPart, multipartBoundary, parseMultipart } from '../http/multipart.js';
import { SERVER_HEADER, sendEmpty, sendJson, sendServerError } from '../http/reply.js';
import type { RequestContext, Router } from '../http/router.js';
import { pyJson } from '../py-json.js';

const MIME_TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.bmp': 'image/bmp',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
  '.svg': 'image/svg+xml',
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
  '.mov': 'video/quicktime',
  '.mkv': 'video/x-matroska',
  '.avi': 'video/x-msvideo',
  '.wav': 'audio/x-wav',
  '.mp3': 'audio/mpeg',
  '.flac': 'audio/flac',
  '.ogg': 'audio/ogg',
  '.m4a': 'audio/mp4',
  '.json': 'application/json',
  '.txt': 'text/plain',
  '.glb': 'model/gltf-binary',
  '.gltf': 'model/gltf+json',
};
// Served as downloads, never rendered (ComfyUI's list).
const FORCED_DOWNLOAD = new Set(['.html', '.htm', '.xhtml', '.js', '.mjs', '.css']);

type Sharp = typeof import('sharp');
let sharpModule: Promise<Sharp> | undefined;
// sharp loads a native library: only when an upload or view first needs it.
function loadSharp(): Promise<Sharp> {
  sharpModule ??= import('sharp').then((m) => m.default);
  return sharpModule;
}

function dirByType(app: AppContext, type: string): string | undefined {
  if (type === 'input') return app.dirs.input;
  if (type === 'output') return app.dirs.output;
  if (type === 'temp') return app.dirs.temp;
  return undefined;
}

/** folder_paths.annotated_filepath: "x.png [output]" names its directory. */
function annotated(app: AppContext, name: string): [string, string | undefined] {
  if (name.endsWith('[output]')) return [name.slice(0, -9), app.dirs.output];
  if (name.endsWith('[input]')) return [name.slice(0, -8), app.dirs.input];
  if (name.endsWith('[temp]')) return [name.slice(0, -7), app.dirs.temp];
  return [name, undefined];
}

function isWithin(base: string, target: string): boolean {
  return target === base || target.startsWith(base.endsWith(path.sep) ? base : base + path.sep);
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

interface Form {
  parts: FormPart[];
  get(name: string): FormPart | undefined;
}

function readForm(body: Buffer, contentType: string | undefined): Form {
  const boundary = multipartBoundary(contentType);
  let parts: FormPart[] = [];
  if (boundary !== undefined) {
    parts = parseMultipart(body, boundary);
  } else if (contentType?.toLowerCase().startsWith('application/x-www-form-urlencoded') === true) {
    for (const [name, value] of new URLSearchParams(body.toString('utf8'))) {
      parts.push({ name, data: Buffer.from(value) });
    }
  }
  return { parts, get: (name) => parts.find((p) => p.name === name) };
}

/** A text field as aiohttp gives it; a file part where text is needed raises (500). */
function textField(form: Form, name: string): string | undefined {
  const part = form.get(name);
  if (part === undefined) return undefined;
  if (part.filename !== undefined) throw new TypeError(`${name} is a file`);
  return part.data.toString('utf8');
}

/**
 * @example
 * registerFileRoutes(router, app);
 */
export function registerFileRoutes(router: Router, app: AppContext): void {
  // Uploads run one at a time: the name check and the write must not interleave.
  let uploads: Promise<unknown> = Promise.resolve();
  const serialized = (handler: (ctx: RequestContext) => Promise<void>) => (ctx: RequestContext) => {
    const run = uploads.then(() => handler(ctx));
    uploads = run.catch(() => undefined);
    return run;
  };
  router.add(
    'POST',
    '/upload/image',
    serialized((ctx) => upload(app, ctx, false)),
  );
  router.add(
    'POST',
    '/upload/mask',
    serialized((ctx) => upload(app, ctx, true)),
  );
  router.add('GET', '/view', (ctx) => view(app, ctx));
}

async function upload(app: AppContext, ctx: RequestContext, mask: boolean): Promise<void> {
  const { res } = ctx;
  const form = readForm(await ctx.body(), ctx.req.headers['content-type']);
  const image = form.get('image');
  const overwrite = textField(form, 'overwrite');
  const type = textField(form, 'type') ?? 'input';
  const uploadDir = dirByType(app, type);
  // get_dir_by_type leaves its variable unbound for other types: ComfyUI answers 500.
  if (uploadDir === undefined) return sendServerError(res);
  if (image === undefined) return sendEmpty(res, 400);
  if (image.filename === undefined) {
    if (image.data.byteLength === 0) return sendEmpty(res, 400);
    return sendServerError(res);
  }
  let filename = image.filename;
  if (filename === '') return sendEmpty(res, 400);
  const subfolder = textField(form, 'subfolder') ?? '';
  const folder = path.resolve(uploadDir, path.normalize(subfolder));
  let filepath = path.resolve(folder, filename);
  if (!isWithin(uploadDir, filepath)) return sendEmpty(res, 400);
  await mkdir(folder, { recursive: true });

  let duplicate = false;
  if (overwrite !== 'true' && overwrite !== '1') {
    const ext = path.extname(filename);
    const stem = filename.slice(0, filename.length - ext.length);
    for (let i = 1; await exists(filepath); i++) {
      const existing = await readFile(filepath).catch(() => undefined);
      if (existing?.equals(image.data) === true) {
        duplicate = true;
        break;
      }
      filename = `${stem} (${i})${ext}`;
      filepath = path.join(folder, filename);
    }
  }
  if (!duplicate) {
    if (mask) await saveMask(app, form, image.data, filepath);
    else await writeFile(filepath, image.data);
  }
  sendJson(res, 200, pyJson({ name: filename, subfolder, type }));
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * The mask upload keeps the original image and replaces its alpha with the upload's. As in
 * ComfyUI, a bad or missing original reference writes nothing but still answers 200.
 */
async function saveMask(app: AppContext, form: Form, maskData: Buffer, filepath: string) {
  const refText = textField(form, 'original_ref');
  if (refText === undefined) throw new TypeError('original_ref is missing');
  const ref = JSON.parse(refText) as Record<string, unknown>;
  const [filename, annotatedDir] = annotated(app, String(ref.filename ?? ''));
  if (filename === '' || filename.startsWith('/') || filename.includes('..')) return;
  let dir = annotatedDir ?? dirByType(app, typeof ref.type === 'string' ? ref.type : 'output');
  if (dir === undefined) return;
  const sub = typeof ref.subfolder === 'string' ? ref.subfolder : '';
  if (sub !== '') {
    const full = path.resolve(dir, sub);
    if (!isWithin(dir, full)) return;
    dir = full;
  }
  const original = path.join(dir, filename);
  if (!(await isFile(original))) return;
  const sharp = await loadSharp();
  const base = await sharp(original).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const alpha = await sharp(maskData).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  if (alpha.info.width !== base.info.width || alpha.info.height !== base.info.height) {
    throw new RangeError('images do not match');
  }
  const pixels = base.data;
  for (let i = 3; i < pixels.length; i += 4) pixels[i] = alpha.data[i] ?? 255;
  await sharp(pixels, { raw: { width: base.info.width, height: base.info.height, channels: 4 } })
    .png({ compressionLevel: 4 })
    .toFile(filepath);
}

async function view(app: AppContext, ctx: RequestContext): Promise<void> {
  const { res, query } = ctx;
  const requested = query.get('filename');
  if (requested === null) return sendEmpty(res, 404);
  const [name, annotatedDir] = annotated(app, requested);
  if (name === '') return sendEmpty(res, 400);
  if (name.startsWith('/') || name.includes('..')) return sendEmpty(res, 400);
  let dir = annotatedDir ?? dirByType(app, query.get('type') ?? 'output');
  if (dir === undefined) return sendEmpty(res, 400);
  const subfolder = query.get('subfolder');
  if (subfolder !== null) {
    const full = path.resolve(dir, subfolder);
    if (!isWithin(dir, full)) return sendEmpty(res, 403);
    dir = full;
  }
  // Only the basename counts: "a/b.png" serves <dir>/b.png.
  const filename = name.endsWith('/') ? '' : path.posix.basename(name);
  const file = path.join(dir, filename);
  if (filename === '' || !(await isFile(file))) return sendEmpty(res, 404);
  const disposition = `filename="${filename}"`;
  const channel = query.get('channel');
  const preview = query.get('preview');

  if (preview !== null) {
    const info = preview.split(';');
    let format = info[0] ?? '';
    if ((format !== 'webp' && format !== 'jpeg') || (channel ?? '').includes('a')) format = 'webp';
    const last = info[info.length - 1] ?? '';
    const quality = /^\d+$/.test(last) ? Math.min(100, Math.max(1, Number(last))) : 90;
    const sharp = await loadSharp();
    let image = sharp(file);
    if (format === 'jpeg' || channel === 'rgb') image = image.removeAlpha();
    const data =
      format === 'jpeg'
        ? await image.jpeg({ quality }).toBuffer()
        : await image.webp({ quality }).toBuffer();
    return sendImage(res, data, `image/${format}`, disposition);
  }
  if (channel === 'rgb') {
    const sharp = await loadSharp();
    const data = await sharp(file).removeAlpha().png().toBuffer();
    return sendImage(res, data, 'image/png', disposition);
  }
  if (channel === 'a') {
    const sharp = await loadSharp();
    const source = sharp(file);
    const meta = await source.metadata();
    const { data, info } = await source.ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    const out = Buffer.alloc(info.width * info.height * 4);
    for (let i = 0; i < info.width * info.height; i++) {
      out[i * 4 + 3] = meta.hasAlpha === true ? (data[i * 4 + 3] ?? 255) : 255;
    }
    const png = await sharp(out, { raw: { width: info.width, height: info.height, channels: 4 } })
      .png()
      .toBuffer();
    return sendImage(res, png, 'image/png', disposition);
  }
  const ext = path.extname(filename).toLowerCase();
  const contentType = FORCED_DOWNLOAD.has(ext)
    ? 'application/octet-stream'
    : (MIME_TYPES[ext] ?? 'application/octet-stream');
  const sent = await sendFile(ctx.req, res, file, {
    'Content-Disposition': disposition,
    'Content-Type': contentType,
  });
  if (!sent) sendEmpty(res, 404);
}

function sendImage(
  res: RequestContext['res'],
  data: Buffer,
  contentType: string,
  disposition: string,
): void {
  res.writeHead(200, {
    'Content-Disposition': disposition,
    'Content-Type': contentType,
    'Content-Length': data.byteLength,
    Server: SERVER_HEADER,
  });
  res.end(data);
}
