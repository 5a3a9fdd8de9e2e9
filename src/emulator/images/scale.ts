/**
 * Image resizing like ComfyUI's `common_upscale`: nearest-exact and bilinear follow PyTorch's CPU
 * kernels step by step in float32 (so results match bit for bit), area is adaptive average
 * pooling, bicubic is PyTorch's (A = -0.75), and lanczos goes through 8-bit pixels the way Pillow's
 * fixed-point resampler does.
 */
import { imageDims, Tensor } from './tensor.js';

export const UPSCALE_METHODS = ['nearest-exact', 'bilinear', 'area', 'bicubic', 'lanczos'] as const;
export type UpscaleMethod = (typeof UPSCALE_METHODS)[number];

const f32 = Math.fround;

/**
 * Python's `round(x)` for a float: nearest integer, ties to even.
 *
 * @example
 * pyRound(2.5); // 2
 */
export function pyRound(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

function checkSizes(h: number, w: number, oh: number, ow: number): void {
  if (oh <= 0 || ow <= 0 || h <= 0 || w <= 0) {
    throw new ScaleError(
      `Input and output sizes should be greater than 0, but got input (H: ${h}, W: ${w}) output (H: ${oh}, W: ${ow})`,
    );
  }
}

/** A resize PyTorch would refuse (becomes a RuntimeError in the node). */
export class ScaleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScaleError';
  }
}

function nearestExactIndex(inSize: number, outSize: number): Int32Array {
  const idx = new Int32Array(outSize);
  const scale = f32(inSize / outSize);
  for (let o = 0; o < outSize; o++) {
    idx[o] = Math.min(Math.floor(f32((o + 0.5) * scale)), inSize - 1);
  }
  return idx;
}

interface LinearAxis {
  i0: Int32Array;
  i1: Int32Array;
  l0: Float32Array;
  l1: Float32Array;
}

function linearAxis(inSize: number, outSize: number): LinearAxis {
  const axis: LinearAxis = {
    i0: new Int32Array(outSize),
    i1: new Int32Array(outSize),
    l0: new Float32Array(outSize),
    l1: new Float32Array(outSize),
  };
  const ratio = f32(inSize / outSize);
  for (let o = 0; o < outSize; o++) {
    if (inSize === outSize) {
      axis.i0[o] = o;
      axis.i1[o] = o;
      axis.l0[o] = 1;
      axis.l1[o] = 0;
      continue;
    }
    let real = f32(f32(ratio * f32(o + 0.5)) - 0.5);
    if (real < 0) real = 0;
    const i0 = Math.min(Math.floor(real), inSize - 1);
    const l1 = Math.min(Math.max(f32(real - i0), 0), 1);
    axis.i0[o] = i0;
    axis.i1[o] = i0 < inSize - 1 ? i0 + 1 : i0;
    axis.l1[o] = l1;
    axis.l0[o] = f32(1 - l1);
  }
  return axis;
}

function resizeNearestExact(src: Tensor, oh: number, ow: number): Tensor {
  const { batch, height, width, channels } = imageDims(src);
  const out = new Tensor([batch, oh, ow, channels]);
  const ys = nearestExactIndex(height, oh);
  const xs = nearestExactIndex(width, ow);
  const s = src.data;
  const d = out.data;
  let o = 0;
  for (let b = 0; b < batch; b++) {
    for (let y = 0; y < oh; y++) {
      const row = (b * height + (ys[y] ?? 0)) * width;
      for (let x = 0; x < ow; x++) {
        const p = (row + (xs[x] ?? 0)) * channels;
        for (let c = 0; c < channels; c++) d[o++] = s[p + c] ?? 0;
      }
    }
  }
  return out;
}

function resizeBilinear(src: Tensor, oh: number, ow: number): Tensor {
  const { batch, height, width, channels } = imageDims(src);
  const out = new Tensor([batch, oh, ow, channels]);
  const ya = linearAxis(height, oh);
  const xa = linearAxis(width, ow);
  const s = src.data;
  const d = out.data;
  let o = 0;
  for (let b = 0; b < batch; b++) {
    for (let y = 0; y < oh; y++) {
      const h0 = ya.l0[y] ?? 0;
      const h1 = ya.l1[y] ?? 0;
      const r0 = (b * height + (ya.i0[y] ?? 0)) * width;
      const r1 = (b * height + (ya.i1[y] ?? 0)) * width;
      for (let x = 0; x < ow; x++) {
        const w0 = xa.l0[x] ?? 0;
        const w1 = xa.l1[x] ?? 0;
        // Weights are products in float32, then a left-to-right float32 sum, as PyTorch's
        // channels-last bilinear kernel computes them.
        const w00 = f32(h0 * w0);
        const w01 = f32(h0 * w1);
        const w10 = f32(h1 * w0);
        const w11 = f32(h1 * w1);
        const p00 = (r0 + (xa.i0[x] ?? 0)) * channels;
        const p01 = (r0 + (xa.i1[x] ?? 0)) * channels;
        const p10 = (r1 + (xa.i0[x] ?? 0)) * channels;
        const p11 = (r1 + (xa.i1[x] ?? 0)) * channels;
        for (let c = 0; c < channels; c++) {
          let acc = f32((s[p00 + c] ?? 0) * w00);
          acc = f32(acc + f32((s[p01 + c] ?? 0) * w01));
          acc = f32(acc + f32((s[p10 + c] ?? 0) * w10));
          d[o++] = acc + f32((s[p11 + c] ?? 0) * w11);
        }
      }
    }
  }
  return out;
}

function resizeArea(src: Tensor, oh: number, ow: number): Tensor {
  const { batch, height, width, channels } = imageDims(src);
  const out = new Tensor([batch, oh, ow, channels]);
  const s = src.data;
  const d = out.data;
  const acc = new Float32Array(channels);
  let o = 0;
  for (let b = 0; b < batch; b++) {
    for (let y = 0; y < oh; y++) {
      const y0 = Math.floor((y * height) / oh);
      const y1 = Math.ceil(((y + 1) * height) / oh);
      for (let x = 0; x < ow; x++) {
        const x0 = Math.floor((x * width) / ow);
        const x1 = Math.ceil(((x + 1) * width) / ow);
        acc.fill(0);
        for (let yy = y0; yy < y1; yy++) {
          for (let xx = x0; xx < x1; xx++) {
            const p = ((b * height + yy) * width + xx) * channels;
            for (let c = 0; c < channels; c++) acc[c] = (acc[c] ?? 0) + (s[p + c] ?? 0);
          }
        }
        const count = (y1 - y0) * (x1 - x0);
        for (let c = 0; c < channels; c++) d[o++] = (acc[c] ?? 0) / count;
      }
    }
  }
  return out;
}

const CUBIC_A = -0.75;

function cubicWeights(t: number): [number, number, number, number] {
  const c1 = (x: number) => ((CUBIC_A + 2) * x - (CUBIC_A + 3)) * x * x + 1;
  const c2 = (x: number) => ((CUBIC_A * x - 5 * CUBIC_A) * x + 8 * CUBIC_A) * x - 4 * CUBIC_A;
  return [f32(c2(t + 1)), f32(c1(t)), f32(c1(1 - t)), f32(c2(2 - t))];
}

interface CubicAxis {
  idx: Int32Array;
  w: Float32Array;
}

function cubicAxis(inSize: number, outSize: number): CubicAxis {
  const idx = new Int32Array(outSize * 4);
  const w = new Float32Array(outSize * 4);
  const scale = f32(inSize / outSize);
  for (let o = 0; o < outSize; o++) {
    const real = f32(f32(scale * f32(o + 0.5)) - 0.5);
    const i = Math.floor(real);
    const t = Math.min(Math.max(f32(real - i), 0), 1);
    const ws = cubicWeights(t);
    for (let k = 0; k < 4; k++) {
      idx[o * 4 + k] = Math.min(Math.max(i - 1 + k, 0), inSize - 1);
      w[o * 4 + k] = ws[k] ?? 0;
    }
  }
  return { idx, w };
}

function resizeBicubic(src: Tensor, oh: number, ow: number): Tensor {
  const { batch, height, width, channels } = imageDims(src);
  const out = new Tensor([batch, oh, ow, channels]);
  const ya = cubicAxis(height, oh);
  const xa = cubicAxis(width, ow);
  const s = src.data;
  const d = out.data;
  let o = 0;
  for (let b = 0; b < batch; b++) {
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++) {
        for (let c = 0; c < channels; c++) {
          let acc = 0;
          for (let i = 0; i < 4; i++) {
            const row = (b * height + (ya.idx[y * 4 + i] ?? 0)) * width;
            let t = 0;
            for (let j = 0; j < 4; j++) {
              t = f32(
                t +
                  f32(
                    (s[(row + (xa.idx[x * 4 + j] ?? 0)) * channels + c] ?? 0) *
                      (xa.w[x * 4 + j] ?? 0),
                  ),
              );
            }
            acc = f32(acc + f32(t * (ya.w[y * 4 + i] ?? 0)));
          }
          d[o++] = acc;
        }
      }
    }
  }
  return out;
}

// Pillow's fixed-point resampler (8 bits per channel).
const PRECISION_BITS = 32 - 8 - 2;

function lanczosKernel(x: number): number {
  const sinc = (v: number) => (v === 0 ? 1 : Math.sin(v * Math.PI) / (v * Math.PI));
  return x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0;
}

interface PilCoeffs {
  bounds: Int32Array;
  kk: Int32Array;
  ksize: number;
}

function pilCoeffs(inSize: number, outSize: number): PilCoeffs {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 3 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kk = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterscale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let ww = 0;
    k.fill(0);
    for (let x = 0; x < xmax; x++) {
      const w = lanczosKernel((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < ksize; x++) {
      const v = x < xmax && ww !== 0 ? (k[x] ?? 0) / ww : 0;
      kk[xx * ksize + x] = Math.trunc(
        v < 0 ? -0.5 + v * (1 << PRECISION_BITS) : 0.5 + v * (1 << PRECISION_BITS),
      );
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { bounds, kk, ksize };
}

function clip8(v: number): number {
  if (v >= 1 << (PRECISION_BITS + 8)) return 255;
  if (v <= 0) return 0;
  return Math.floor(v / (1 << PRECISION_BITS));
}

/** Pillow-style resample of interleaved 8-bit pixels (horizontal pass first, then vertical). */
function pilResample(
  px: Uint8Array,
  w: number,
  h: number,
  ch: number,
  ow: number,
  oh: number,
): Uint8Array {
  let cur = px;
  let cw = w;
  const half = 1 << (PRECISION_BITS - 1);
  if (ow !== w) {
    const c = pilCoeffs(w, ow);
    const next = new Uint8Array(ow * h * ch);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < ow; x++) {
        const xmin = c.bounds[x * 2] ?? 0;
        const xmax = c.bounds[x * 2 + 1] ?? 0;
        for (let k = 0; k < ch; k++) {
          let ss = half;
          for (let i = 0; i < xmax; i++) {
            ss += (cur[(y * cw + xmin + i) * ch + k] ?? 0) * (c.kk[x * c.ksize + i] ?? 0);
          }
          next[(y * ow + x) * ch + k] = clip8(ss);
        }
      }
    }
    cur = next;
    cw = ow;
  }
  if (oh !== h) {
    const c = pilCoeffs(h, oh);
    const next = new Uint8Array(ow * oh * ch);
    for (let y = 0; y < oh; y++) {
      const ymin = c.bounds[y * 2] ?? 0;
      const ymax = c.bounds[y * 2 + 1] ?? 0;
      for (let x = 0; x < ow; x++) {
        for (let k = 0; k < ch; k++) {
          let ss = half;
          for (let i = 0; i < ymax; i++) {
            ss += (cur[((ymin + i) * cw + x) * ch + k] ?? 0) * (c.kk[y * c.ksize + i] ?? 0);
          }
          next[(y * ow + x) * ch + k] = clip8(ss);
        }
      }
    }
    cur = next;
  }
  return cur;
}

function resizeLanczos(src: Tensor, oh: number, ow: number): Tensor {
  const { batch, height, width, channels } = imageDims(src);
  const out = new Tensor([batch, oh, ow, channels]);
  const per = height * width * channels;
  const tmp = new Float32Array(1);
  for (let b = 0; b < batch; b++) {
    const px = new Uint8Array(per);
    for (let i = 0; i < per; i++) {
      tmp[0] = 255 * (src.data[b * per + i] ?? 0);
      const v = tmp[0] ?? 0;
      px[i] = Math.min(Math.max(v, 0), 255);
    }
    if (channels === 4) premultiply(px);
    const res = pilResample(px, width, height, channels, ow, oh);
    if (channels === 4) unpremultiply(res);
    const base = b * oh * ow * channels;
    for (let i = 0; i < res.length; i++) out.data[base + i] = (res[i] ?? 0) / 255;
  }
  return out;
}

// Pillow resizes RGBA through premultiplied "RGBa".
function premultiply(px: Uint8Array): void {
  for (let i = 0; i < px.length; i += 4) {
    const a = px[i + 3] ?? 0;
    for (let c = 0; c < 3; c++) {
      const t = (px[i + c] ?? 0) * a + 128;
      px[i + c] = (t + (t >> 8)) >> 8;
    }
  }
}

function unpremultiply(px: Uint8Array): void {
  for (let i = 0; i < px.length; i += 4) {
    const a = px[i + 3] ?? 0;
    if (a === 0 || a === 255) continue;
    for (let c = 0; c < 3; c++) px[i + c] = Math.min(255, Math.floor((255 * (px[i + c] ?? 0)) / a));
  }
}

/**
 * Resizes an IMAGE `[B, H, W, C]` to `width` x `height` (ComfyUI's `common_upscale`, crop
 * "disabled" or "center").
 *
 * @example
 * const big = resizeImage(image, 128, 128, 'bilinear');
 */
export function resizeImage(
  image: Tensor,
  width: number,
  height: number,
  method: UpscaleMethod,
  crop: 'disabled' | 'center' = 'disabled',
): Tensor {
  let src = image;
  if (crop === 'center') src = centerCrop(image, width, height);
  const { height: h, width: w } = imageDims(src);
  checkSizes(h, w, height, width);
  switch (method) {
    case 'nearest-exact':
      return resizeNearestExact(src, height, width);
    case 'bilinear':
      return resizeBilinear(src, height, width);
    case 'area':
      return resizeArea(src, height, width);
    case 'bicubic':
      return resizeBicubic(src, height, width);
    case 'lanczos':
      return resizeLanczos(src, height, width);
  }
}

function centerCrop(image: Tensor, width: number, height: number): Tensor {
  const { batch, height: oldH, width: oldW, channels } = imageDims(image);
  const oldAspect = oldW / oldH;
  const newAspect = width / height;
  let x = 0;
  let y = 0;
  if (oldAspect > newAspect) x = pyRound((oldW - oldW * (newAspect / oldAspect)) / 2);
  else if (oldAspect < newAspect) y = pyRound((oldH - oldH * (oldAspect / newAspect)) / 2);
  const cw = oldW - x * 2;
  const chh = oldH - y * 2;
  const out = new Tensor([batch, chh, cw, channels]);
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < chh; r++) {
      const from = ((b * oldH + r + y) * oldW + x) * channels;
      out.data.set(image.data.subarray(from, from + cw * channels), (b * chh + r) * cw * channels);
    }
  }
  return out;
}
