/**
 * ComfyUI's ImageBlur and ImageSharpen: a Gaussian over a (2r+1)² window whose coordinates span
 * -1..1 (so `sigma` is relative to the radius, not in pixels), reflect padding at the borders. The
 * kernel is separable, so it is applied as two 1-D passes (same result up to float rounding).
 */
import { imageDims, Tensor } from './tensor.js';

/** A blur PyTorch would refuse: reflect padding must be smaller than the image side. */
export class BlurError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BlurError';
  }
}

/** Normalised 1-D weights whose outer product is ComfyUI's `gaussian_kernel(2r+1, sigma)`. */
export function gaussianWeights(radius: number, sigma: number): Float64Array {
  const size = radius * 2 + 1;
  const w = new Float64Array(size);
  let sum = 0;
  for (let i = 0; i < size; i++) {
    const x = size === 1 ? -1 : -1 + (2 * i) / (size - 1);
    const v = Math.exp(-(x * x) / (2 * sigma * sigma));
    w[i] = v;
    sum += v;
  }
  for (let i = 0; i < size; i++) w[i] = (w[i] ?? 0) / sum;
  return w;
}

function checkPadding(radius: number, b: number, h: number, w: number, c: number): void {
  const sizes = `[${b}, ${c}, ${h}, ${w}]`;
  if (radius >= w) {
    throw new BlurError(
      `Argument #4: Padding size should be less than the corresponding input dimension, but got: padding (${radius}, ${radius}) at dimension 3 of input ${sizes}`,
    );
  }
  if (radius >= h) {
    throw new BlurError(
      `Argument #6: Padding size should be less than the corresponding input dimension, but got: padding (${radius}, ${radius}) at dimension 2 of input ${sizes}`,
    );
  }
}

function reflect(i: number, n: number): number {
  if (i < 0) return -i;
  if (i >= n) return 2 * (n - 1) - i;
  return i;
}

/** For each output position, the source index of every tap (reflect padding). */
function tapTable(size: number, radius: number, taps: number): Int32Array {
  const t = new Int32Array(size * taps);
  for (let i = 0; i < size; i++) {
    for (let k = 0; k < taps; k++) t[i * taps + k] = reflect(i - radius + k, size);
  }
  return t;
}

function separable(image: Tensor, weights: Float64Array, radius: number): Float64Array {
  const { batch, height, width, channels } = imageDims(image);
  const src = image.data;
  const tmp = new Float64Array(src.length);
  const out = new Float64Array(src.length);
  const taps = weights.length;
  const xs = tapTable(width, radius, taps);
  const ys = tapTable(height, radius, taps);
  const rowLen = width * channels;
  for (let b = 0; b < batch; b++) {
    const base = b * height * rowLen;
    for (let y = 0; y < height; y++) {
      const row = base + y * rowLen;
      for (let x = 0; x < width; x++) {
        const o = row + x * channels;
        for (let c = 0; c < channels; c++) {
          let acc = 0;
          for (let k = 0; k < taps; k++) {
            acc +=
              (weights[k] as number) *
              (src[row + (xs[x * taps + k] as number) * channels + c] as number);
          }
          tmp[o + c] = acc;
        }
      }
    }
    for (let y = 0; y < height; y++) {
      const o = base + y * rowLen;
      for (let k = 0; k < taps; k++) {
        const w = weights[k] as number;
        const from = base + (ys[y * taps + k] as number) * rowLen;
        for (let i = 0; i < rowLen; i++)
          out[o + i] = (out[o + i] as number) + w * (tmp[from + i] as number);
      }
    }
  }
  return out;
}

/**
 * Gaussian blur as ComfyUI's ImageBlur node (`blur_radius` 1..31, `sigma` 0.1..10).
 *
 * @example
 * const soft = blurImage(image, 2, 1.0);
 */
export function blurImage(image: Tensor, radius: number, sigma: number): Tensor {
  if (radius === 0) return image;
  const { batch, height, width, channels } = imageDims(image);
  checkPadding(radius, batch, height, width, channels);
  const blurred = separable(image, gaussianWeights(radius, sigma), radius);
  return new Tensor(image.shape, Float32Array.from(blurred));
}

/**
 * Unsharp masking as ComfyUI's ImageSharpen: `(1 + 10α)·x − 10α·blur(x)`, clamped to 0..1.
 *
 * @example
 * const crisp = sharpenImage(image, 1, 1.0, 0.5);
 */
export function sharpenImage(image: Tensor, radius: number, sigma: number, alpha: number): Tensor {
  if (radius === 0) return image;
  const { batch, height, width, channels } = imageDims(image);
  checkPadding(radius, batch, height, width, channels);
  const blurred = separable(image, gaussianWeights(radius, sigma), radius);
  const k = alpha * 10;
  const out = new Tensor(image.shape);
  for (let i = 0; i < out.size; i++) {
    const v = (1 + k) * (image.data[i] ?? 0) - k * (blurred[i] ?? 0);
    out.data[i] = Math.min(Math.max(v, 0), 1);
  }
  return out;
}
