/**
 * Reading an image file for LoadImage / LoadImageMask, with the errors Python raises when the file
 * is missing or not an image. PNGs are decoded with pngjs; other formats (JPEG, WebP, GIF, ...) with
 * sharp, loaded only when needed. Animated files give one frame per batch entry, like ComfyUI.
 */
import { readFile } from 'node:fs/promises';
import { decodePng, isPng } from '../images/index.js';
import { quotePath } from './files.js';
import { PythonNodeError } from './node-error.js';

/** One decoded frame: 8-bit RGBA. */
export interface Frame {
  width: number;
  height: number;
  rgba: Uint8Array;
}

export interface DecodedImageFile {
  frames: Frame[];
  /** Whether Pillow would see an alpha band (LoadImage's mask comes from it). */
  hasAlpha: boolean;
}

function osError(err: unknown, file: string): PythonNodeError {
  const code = (err as NodeJS.ErrnoException).code;
  const q = quotePath(file);
  if (code === 'ENOENT') {
    return new PythonNodeError('FileNotFoundError', `[Errno 2] No such file or directory: ${q}`);
  }
  if (code === 'EISDIR')
    return new PythonNodeError('IsADirectoryError', `[Errno 21] Is a directory: ${q}`);
  if (code === 'EACCES')
    return new PythonNodeError('PermissionError', `[Errno 13] Permission denied: ${q}`);
  return new PythonNodeError('OSError', `${(err as Error).message}`);
}

function unidentified(file: string): PythonNodeError {
  return new PythonNodeError(
    'PIL.UnidentifiedImageError',
    `cannot identify image file ${quotePath(file)}`,
  );
}

/**
 * Reads and decodes an image file.
 *
 * @example
 * const { frames, hasAlpha } = await readImageFile('/srv/input/photo.png');
 */
export async function readImageFile(file: string): Promise<DecodedImageFile> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (err) {
    throw osError(err, file);
  }
  if (isPng(buf)) {
    try {
      const png = decodePng(buf);
      return {
        frames: [{ width: png.width, height: png.height, rgba: png.rgba }],
        hasAlpha: png.hasAlpha,
      };
    } catch {
      throw unidentified(file);
    }
  }
  return decodeWithSharp(buf, file);
}

async function decodeWithSharp(buf: Buffer, file: string): Promise<DecodedImageFile> {
  let sharp: typeof import('sharp');
  try {
    sharp = (await import('sharp')).default;
  } catch {
    throw unidentified(file);
  }
  try {
    const meta = await sharp(buf).metadata();
    const pages = meta.pages && meta.pages > 1 ? -1 : 1;
    const { data, info } = await sharp(buf, { pages })
      .rotate()
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const pageHeight = info.pageHeight ?? info.height;
    const count = Math.max(1, Math.floor(info.height / pageHeight));
    const frames: Frame[] = [];
    const stride = info.width * 4 * pageHeight;
    for (let i = 0; i < count; i++) {
      frames.push({
        width: info.width,
        height: pageHeight,
        rgba: new Uint8Array(data.buffer, data.byteOffset + i * stride, stride),
      });
    }
    return { frames, hasAlpha: meta.hasAlpha === true };
  } catch {
    throw unidentified(file);
  }
}
