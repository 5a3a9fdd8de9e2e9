/**
 * Per-pixel operations: solid fills, inversion, and moving between IMAGE and MASK.
 */
import { imageDims, maskDims, Tensor } from './tensor.js';

/** An operation PyTorch would refuse with an IndexError (e.g. the alpha channel of an RGB image). */
export class ChannelIndexError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChannelIndexError';
  }
}

/**
 * A batch filled with ComfyUI's integer colour `0xRRGGBB` (EmptyImage).
 *
 * @example
 * const red = solidImage(64, 64, 1, 0xff0000);
 */
export function solidImage(width: number, height: number, batch: number, color: number): Tensor {
  const c = Math.trunc(color);
  // Python's >> and & on a (possibly huge) int: only the low 24 bits matter here.
  const r = Math.floor(c / 65536) % 256;
  const g = Math.floor(c / 256) % 256;
  const b = c % 256;
  const rgb = Float32Array.of(
    ((r + 256) % 256) / 255,
    ((g + 256) % 256) / 255,
    ((b + 256) % 256) / 255,
  );
  const out = new Tensor([batch, height, width, 3]);
  const d = out.data;
  for (let i = 0; i < d.length; i += 3) {
    d[i] = rgb[0] ?? 0;
    d[i + 1] = rgb[1] ?? 0;
    d[i + 2] = rgb[2] ?? 0;
  }
  return out;
}

/**
 * `1.0 - x` for every value (ImageInvert, InvertMask).
 *
 * @example
 * const negative = invert(image);
 */
export function invert(t: Tensor): Tensor {
  const out = new Tensor(t.shape);
  const s = t.data;
  const d = out.data;
  for (let i = 0; i < s.length; i++) d[i] = 1 - (s[i] ?? 0);
  return out;
}

export const MASK_CHANNELS = ['red', 'green', 'blue', 'alpha'] as const;
export type MaskChannel = (typeof MASK_CHANNELS)[number];

/**
 * One channel of an IMAGE as a MASK (ImageToMask). The alpha channel of an RGB image raises the
 * same IndexError text PyTorch gives.
 *
 * @example
 * const red = imageToMask(image, 'red');
 */
export function imageToMask(image: Tensor, channel: MaskChannel): Tensor {
  const { batch, height, width, channels } = imageDims(image);
  const index = MASK_CHANNELS.indexOf(channel);
  if (index >= channels) {
    throw new ChannelIndexError(
      `index ${index} is out of bounds for dimension 3 with size ${channels}`,
    );
  }
  const out = new Tensor([batch, height, width]);
  const s = image.data;
  const d = out.data;
  for (let p = 0; p < d.length; p++) d[p] = s[p * channels + index] ?? 0;
  return out;
}

/**
 * A MASK as a grey RGB IMAGE (MaskToImage).
 *
 * @example
 * const grey = maskToImage(mask);
 */
export function maskToImage(mask: Tensor): Tensor {
  const { batch, height, width } = maskDims(mask);
  const out = new Tensor([batch, height, width, 3]);
  const s = mask.data;
  const d = out.data;
  for (let p = 0; p < s.length; p++) {
    const v = s[p] ?? 0;
    d[p * 3] = v;
    d[p * 3 + 1] = v;
    d[p * 3 + 2] = v;
  }
  return out;
}
