import sharp from 'sharp';
import type { ComfyFileFolders } from './file-folders.js';
import { folderType, splitAnnotation } from './file-folders.js';

/**
 * `/upload/mask`: the original image (named by `original_ref`, a JSON string
 * `{filename, subfolder, type}` with `type` defaulting to `output`) with its alpha channel
 * replaced by the uploaded mask's alpha, as PNG. Undefined when the original cannot be used.
 *
 * @example
 * const png = await applyMask(folders, '{"filename":"a.png","type":"input"}', maskBytes);
 */
export async function applyMask(
  folders: ComfyFileFolders,
  originalRef: string | undefined,
  mask: Buffer,
): Promise<Buffer | undefined> {
  let ref: unknown;
  try {
    ref = JSON.parse(originalRef ?? '');
  } catch {
    return undefined;
  }
  if (ref === null || typeof ref !== 'object') return undefined;
  const r = ref as Record<string, unknown>;
  if (typeof r.filename !== 'string') return undefined;
  const t = folderType(r.type, 'output');
  if (!t) return undefined;
  const { name, type } = splitAnnotation(r.filename, t);
  const target = await folders.resolveView(
    name,
    typeof r.subfolder === 'string' ? r.subfolder : '',
    type,
  );
  if (!target.ok) return undefined;
  try {
    const { data: rgb, info } = await sharp(target.file)
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const alpha = await sharp(mask)
      .ensureAlpha()
      .extractChannel('alpha')
      .resize(info.width, info.height, { fit: 'fill' })
      .raw()
      .toBuffer();
    return await sharp(rgb, { raw: { width: info.width, height: info.height, channels: 3 } })
      .joinChannel(alpha, { raw: { width: info.width, height: info.height, channels: 1 } })
      .png()
      .toBuffer();
  } catch {
    return undefined;
  }
}
