/**
 * Operations on regions: crop, padding for outpainting, masked compositing.
 */
import { resizeImage } from './scale.js';
import { imageDims, maskDims, Tensor } from './tensor.js';

/**
 * ComfyUI's ImageCrop: `x`/`y` are clamped into the image, the size is cut at its border.
 *
 * @example
 * const part = cropImage(image, 32, 32, 8, 8);
 */
export function cropImage(
  image: Tensor,
  width: number,
  height: number,
  x: number,
  y: number,
): Tensor {
  const { batch, height: h, width: w, channels } = imageDims(image);
  const x0 = Math.max(0, Math.min(x, w - 1));
  const y0 = Math.max(0, Math.min(y, h - 1));
  const x1 = Math.min(w, x0 + width);
  const y1 = Math.min(h, y0 + height);
  const cw = Math.max(0, x1 - x0);
  const ch = Math.max(0, y1 - y0);
  const out = new Tensor([batch, ch, cw, channels]);
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < ch; r++) {
      const from = ((b * h + y0 + r) * w + x0) * channels;
      out.data.set(image.data.subarray(from, from + cw * channels), (b * ch + r) * cw * channels);
    }
  }
  return out;
}

/**
 * ComfyUI's ImagePadForOutpaint: grows the canvas with grey (0.5) and returns the MASK of the new
 * area (1 outside, feathered inside the original when `feathering` > 0).
 *
 * @example
 * const { image: padded, mask } = padForOutpaint(image, 64, 0, 64, 0, 40);
 */
export function padForOutpaint(
  image: Tensor,
  left: number,
  top: number,
  right: number,
  bottom: number,
  feathering: number,
): { image: Tensor; mask: Tensor } {
  const { batch, height: h, width: w, channels } = imageDims(image);
  const nh = h + top + bottom;
  const nw = w + left + right;
  const out = new Tensor([batch, nh, nw, channels]);
  out.data.fill(0.5);
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < h; r++) {
      const from = (b * h + r) * w * channels;
      out.data.set(
        image.data.subarray(from, from + w * channels),
        ((b * nh + r + top) * nw + left) * channels,
      );
    }
  }
  const mask = new Tensor([1, nh, nw]);
  mask.data.fill(1);
  const feather = feathering > 0 && feathering * 2 < h && feathering * 2 < w;
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      let v = 0;
      if (feather) {
        const d = Math.min(
          top !== 0 ? i : h,
          bottom !== 0 ? h - i : h,
          left !== 0 ? j : w,
          right !== 0 ? w - j : w,
        );
        if (d < feathering) {
          const t = (feathering - d) / feathering;
          v = t * t;
        }
      }
      mask.data[(i + top) * nw + j + left] = v;
    }
  }
  return { image: out, mask };
}

/**
 * ComfyUI's ImageCompositeMasked: pastes `source` onto `destination` at (x, y), weighted by
 * `mask` (resized bilinearly to the source size); `resizeSource` first scales the source to the
 * destination size.
 *
 * @example
 * const merged = compositeMasked(background, sticker, 10, 10, false);
 */
export function compositeMasked(
  destination: Tensor,
  source: Tensor,
  x: number,
  y: number,
  resizeSource: boolean,
  mask?: Tensor,
): Tensor {
  const dst = imageDims(destination);
  let src = source;
  if (resizeSource) src = resizeImage(src, dst.width, dst.height, 'bilinear');
  const s = imageDims(src);
  if (s.channels !== dst.channels) {
    throw new RangeError(
      `The size of tensor a (${s.channels}) must match the size of tensor b (${dst.channels}) at non-singleton dimension 1`,
    );
  }
  const out = new Tensor(destination.shape, destination.data.slice());
  const left = Math.max(-s.width, Math.min(x, dst.width));
  const top = Math.max(-s.height, Math.min(y, dst.height));
  let m: Tensor | undefined;
  if (mask) {
    const md = maskDims(mask);
    const asImage = new Tensor([md.batch, md.height, md.width, 1], mask.data);
    m = resizeImage(asImage, s.width, s.height, 'bilinear');
  }
  const mBatch = m ? m.dim(0) : 1;
  for (let b = 0; b < dst.batch; b++) {
    const sb = b % s.batch;
    const mb = b % mBatch;
    for (let r = 0; r < s.height; r++) {
      const ty = top + r;
      if (ty < 0 || ty >= dst.height) continue;
      for (let c = 0; c < s.width; c++) {
        const tx = left + c;
        if (tx < 0 || tx >= dst.width) continue;
        const weight = m ? (m.data[(mb * s.height + r) * s.width + c] ?? 0) : 1;
        const so = ((sb * s.height + r) * s.width + c) * s.channels;
        const dOff = ((b * dst.height + ty) * dst.width + tx) * dst.channels;
        for (let k = 0; k < dst.channels; k++) {
          out.data[dOff + k] =
            weight * (src.data[so + k] ?? 0) + (1 - weight) * (out.data[dOff + k] ?? 0);
        }
      }
    }
  }
  return out;
}
