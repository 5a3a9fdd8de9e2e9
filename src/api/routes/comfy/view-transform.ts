import sharp from 'sharp';

/** A re-encoded image for /view. */
export interface TransformedImage {
  bytes: Buffer;
  type: string;
}

/**
 * ComfyUI's /view `preview` (`webp;90`, `jpeg;80`: re-encoded, webp for anything else or when the
 * channel asks for alpha) and `channel` (`rgb`: PNG without alpha; `a`: the alpha as a PNG whose
 * alpha is the mask). Undefined when the file is sent as it is (`rgba`, no preview).
 *
 * @example
 * await viewTransform('/data/x.png', { preview: 'jpeg;80' }); // { bytes, type: 'image/jpeg' }
 */
export async function viewTransform(
  file: string,
  query: { preview?: unknown; channel?: unknown },
): Promise<TransformedImage | undefined> {
  const given = typeof query.channel === 'string' ? query.channel : '';
  const channel = given === '' ? 'rgba' : given;
  if (typeof query.preview === 'string') {
    const parts = query.preview.split(';');
    let format = parts[0] ?? '';
    // As ComfyUI: only an explicitly given channel with alpha forces webp.
    if ((format !== 'webp' && format !== 'jpeg') || given.includes('a')) format = 'webp';
    const q = parts.length > 1 ? Number.parseInt(parts.at(-1) ?? '', 10) : 90;
    const quality = Number.isFinite(q) ? Math.min(100, Math.max(1, q)) : 90;
    const img = sharp(file);
    const bytes =
      format === 'jpeg'
        ? await img.flatten().jpeg({ quality }).toBuffer()
        : await img.webp({ quality }).toBuffer();
    return { bytes, type: `image/${format}` };
  }
  if (channel === 'rgb') {
    return { bytes: await sharp(file).removeAlpha().png().toBuffer(), type: 'image/png' };
  }
  if (channel === 'a') {
    const meta = await sharp(file).metadata();
    const width = meta.width ?? 0;
    const height = meta.height ?? 0;
    const alpha = meta.hasAlpha
      ? await sharp(file).extractChannel('alpha').raw().toBuffer()
      : Buffer.alloc(width * height, 255);
    const black = Buffer.alloc(width * height * 3, 0);
    const bytes = await sharp(black, { raw: { width, height, channels: 3 } })
      .joinChannel(alpha, { raw: { width, height, channels: 1 } })
      .png()
      .toBuffer();
    return { bytes, type: 'image/png' };
  }
  return undefined;
}
