/**
 * Moving between float tensors and 8-bit pixels, with ComfyUI's exact rounding:
 * saving is `clip(255 * x, 0, 255).astype(uint8)` (truncation, not rounding), loading is
 * `uint8 / 255` in float32.
 */
import { encodePng, type Pixels, type PngEncodeOptions } from './png.js';
import { imageDims, Tensor } from './tensor.js';

/**
 * One image of an IMAGE batch as 8-bit pixels (1, 3 or 4 channels, like `Image.fromarray`).
 *
 * @example
 * const px = imageToPixels(image, 0); // { width, height, channels: 3, data }
 */
export function imageToPixels(image: Tensor, index: number): Pixels {
  const { height, width, channels } = imageDims(image);
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    // What Pillow's Image.fromarray says for an unsupported channel count.
    throw new TypeError(`Cannot handle this data type: (1, 1, ${channels}), |u1`);
  }
  const n = height * width * channels;
  const data = new Uint8Array(n);
  const src = image.data;
  const base = index * n;
  const scaled = new Float32Array(1);
  for (let i = 0; i < n; i++) {
    scaled[0] = 255 * (src[base + i] ?? 0);
    const v = scaled[0];
    data[i] = Math.min(Math.max(v, 0), 255);
  }
  return { width, height, channels, data };
}

/** Encodes image `index` of a batch as PNG (see `encodePng`). */
export function imageToPng(image: Tensor, index: number, options: PngEncodeOptions = {}): Buffer {
  return encodePng(imageToPixels(image, index), options);
}

/**
 * Builds a `[1, H, W, C]` IMAGE from interleaved 8-bit pixels with `srcChannels` per pixel, keeping
 * the first `channels` of them.
 *
 * @example
 * const rgb = pixelsToImage(rgba, w, h, 4, 3);
 */
export function pixelsToImage(
  pixels: Uint8Array,
  width: number,
  height: number,
  srcChannels: number,
  channels: number,
): Tensor {
  const out = new Tensor([1, height, width, channels]);
  const d = out.data;
  const count = width * height;
  for (let p = 0; p < count; p++) {
    for (let c = 0; c < channels; c++)
      d[p * channels + c] = (pixels[p * srcChannels + c] ?? 0) / 255;
  }
  return out;
}

/**
 * Builds a `[1, H, W]` MASK from one channel of interleaved 8-bit pixels; `invert` gives
 * `1 - v/255` (LoadImage's mask from alpha).
 */
export function channelToMask(
  pixels: Uint8Array,
  width: number,
  height: number,
  srcChannels: number,
  channel: number,
  invert: boolean,
): Tensor {
  const out = new Tensor([1, height, width]);
  const d = out.data;
  const count = width * height;
  const tmp = new Float32Array(1);
  for (let p = 0; p < count; p++) {
    tmp[0] = (pixels[p * srcChannels + channel] ?? 0) / 255;
    d[p] = invert ? 1 - (tmp[0] ?? 0) : (tmp[0] ?? 0);
  }
  return out;
}
