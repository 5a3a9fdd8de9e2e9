/**
 * Latent previews as ComfyUI sends them: JPEG (quality 95), scaled to fit 512x512 (the default
 * --preview-size). Encoded with sharp; PNG is the fallback if sharp cannot load.
 */
import { encodePng } from '../../images/index.js';
import type { NodeContext } from '../types.js';

const PREVIEW_SIZE = 512;

type SharpFn = typeof import('sharp');
let sharpLoad: Promise<SharpFn | undefined> | undefined;

function loadSharp(): Promise<SharpFn | undefined> {
  sharpLoad ??= import('sharp').then(
    (m) => m.default,
    () => undefined,
  );
  return sharpLoad;
}

/** The preview method in effect for this prompt (executor setting, else extra_data), or "none". */
export function previewMethod(ctx: NodeContext): string {
  if (ctx.previewMethod !== undefined) return ctx.previewMethod;
  const fromPrompt = ctx.extraData.preview_method;
  return typeof fromPrompt === 'string' && fromPrompt !== 'default' ? fromPrompt : 'none';
}

/**
 * Encodes 8-bit RGB pixels as a preview image.
 *
 * @example
 * const { image, mime } = await encodePreview(px, 64, 64);
 * ctx.sendPreview(image, mime);
 */
export async function encodePreview(
  px: Uint8Array,
  width: number,
  height: number,
): Promise<{ image: Uint8Array; mime: 'image/jpeg' | 'image/png' }> {
  const scale = PREVIEW_SIZE / Math.max(width, height);
  const w = Math.max(1, Math.round(width * scale));
  const h = Math.max(1, Math.round(height * scale));
  const sharp = await loadSharp();
  if (sharp) {
    try {
      const image = await sharp(Buffer.from(px), { raw: { width, height, channels: 3 } })
        .resize(w, h, { kernel: 'linear', fit: 'fill' })
        .jpeg({ quality: 95 })
        .toBuffer();
      return { image, mime: 'image/jpeg' };
    } catch {
      // fall through to PNG
    }
  }
  return {
    image: encodePng({ width, height, channels: 3, data: px }, { compressLevel: 1 }),
    mime: 'image/png',
  };
}
