/**
 * What the simulated diffusion pipeline "generates": a smooth, colourful picture fully determined
 * by the sampler settings (seed, prompt text, model, LoRAs) and the batch index. Different seeds or
 * prompts give visibly different pictures, identical settings give identical pixels.
 */
import { imageDims, resizeImage, Tensor } from '../../images/index.js';
import type { Latent } from './latent.js';
import { hash32, rng } from './prng.js';

interface Blob {
  x: number;
  y: number;
  r2: number;
  color: [number, number, number];
}

interface Recipe {
  c0: [number, number, number];
  c1: [number, number, number];
  dx: number;
  dy: number;
  blobs: Blob[];
}

function recipe(key: string): Recipe {
  const next = rng(hash32(key));
  const color = (): [number, number, number] => [next(), next(), next()];
  const angle = next() * Math.PI * 2;
  const blobs: Blob[] = [];
  for (let i = 0; i < 4; i++) {
    const r = 0.08 + next() * 0.25;
    blobs.push({ x: next(), y: next(), r2: r * r, color: color() });
  }
  return { c0: color(), c1: color(), dx: Math.cos(angle), dy: Math.sin(angle), blobs };
}

function paint(out: Float32Array, offset: number, width: number, height: number, r: Recipe): void {
  const row = new Float32Array(3);
  for (let y = 0; y < height; y++) {
    const v = height > 1 ? y / (height - 1) : 0.5;
    for (let x = 0; x < width; x++) {
      const u = width > 1 ? x / (width - 1) : 0.5;
      const t = Math.min(1, Math.max(0, 0.5 + (u - 0.5) * r.dx + (v - 0.5) * r.dy));
      for (let c = 0; c < 3; c++) row[c] = (r.c0[c] ?? 0) * (1 - t) + (r.c1[c] ?? 0) * t;
      for (const b of r.blobs) {
        const du = u - b.x;
        const dv = v - b.y;
        const w = 0.85 * Math.exp(-(du * du + dv * dv) / b.r2);
        for (let c = 0; c < 3; c++) row[c] = (row[c] ?? 0) * (1 - w) + (b.color[c] ?? 0) * w;
      }
      const o = offset + (y * width + x) * 3;
      out[o] = row[0] ?? 0;
      out[o + 1] = row[1] ?? 0;
      out[o + 2] = row[2] ?? 0;
    }
  }
}

function recipeKey(latent: Latent, index: number): string {
  const s = latent.sampled;
  if (!s) return `empty|${index}`;
  return `${s.seed}|${index}|${s.model}|${s.positive}|${s.negative}|${s.steps}|${s.cfg}|${s.sampler}|${s.scheduler}`;
}

/**
 * Decodes a latent into an IMAGE (VAEDecode): the generated picture, blended with the source image
 * by `1 - denoise` for img2img. An unsampled empty latent decodes to flat grey-brown, as zeros do.
 *
 * @example
 * const image = decodeLatent(latent); // [B, H, W, 3]
 */
export function decodeLatent(latent: Latent): Tensor {
  const { batch, width, height } = latent;
  const out = new Tensor([batch, height, width, 3]);
  const plane = width * height * 3;
  for (let b = 0; b < batch; b++) {
    if (!latent.sampled && !latent.source) {
      for (let i = 0; i < plane; i += 3) {
        out.data[b * plane + i] = 0.48;
        out.data[b * plane + i + 1] = 0.44;
        out.data[b * plane + i + 2] = 0.4;
      }
      continue;
    }
    if (latent.sampled) paint(out.data, b * plane, width, height, recipe(recipeKey(latent, b)));
  }
  const source = latent.source;
  if (source) {
    const dims = imageDims(source);
    const src =
      dims.width === width && dims.height === height && dims.channels === 3
        ? source
        : resizeImage(rgbOnly(source), width, height, 'bilinear');
    const keep = latent.sampled ? 1 - latent.sampled.denoise : 1;
    const srcBatch = imageDims(src).batch;
    for (let b = 0; b < batch; b++) {
      const s = (b % srcBatch) * plane;
      for (let i = 0; i < plane; i++) {
        const gen = out.data[b * plane + i] ?? 0;
        out.data[b * plane + i] = keep * (src.data[s + i] ?? 0) + (1 - keep) * gen;
      }
    }
  }
  return out;
}

function rgbOnly(image: Tensor): Tensor {
  const { batch, height, width, channels } = imageDims(image);
  if (channels === 3) return image;
  const out = new Tensor([batch, height, width, 3]);
  const n = batch * height * width;
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < 3; c++)
      out.data[p * 3 + c] = image.data[p * channels + Math.min(c, channels - 1)] ?? 0;
  }
  return out;
}

/**
 * The latent preview after `step` of `steps` (1-based), at latent resolution: noise fading into the
 * final picture. 8-bit RGB pixels.
 */
export function previewPixels(latent: Latent, step: number, steps: number): Uint8Array {
  const w = latent.latentWidth;
  const h = latent.latentHeight;
  const target = new Float32Array(w * h * 3);
  paint(target, 0, w, h, recipe(recipeKey(latent, 0)));
  const noise = rng(hash32(`${latent.sampled?.seed ?? 0}|noise`));
  const mix = Math.min(1, step / Math.max(1, steps));
  const px = new Uint8Array(w * h * 3);
  for (let i = 0; i < px.length; i++) {
    const v = (target[i] ?? 0) * mix + noise() * (1 - mix);
    px[i] = Math.min(255, Math.max(0, Math.round(v * 255)));
  }
  return px;
}
