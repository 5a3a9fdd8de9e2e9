/** LATENT values: size, origin (empty, encoded image, sampler run), printed like `{'samples': tensor}`. */
import { Tensor } from '../../images/index.js';
import { hash32, rng } from './prng.js';

/** What produced a latent: nothing (empty), an encoded image, or a sampler run. */
export interface SampleInfo {
  seed: number;
  steps: number;
  cfg: number;
  sampler: string;
  scheduler: string;
  denoise: number;
  model: string;
  positive: string;
  negative: string;
}

/** LATENT: `{"samples": tensor [B, 4, H/8, W/8]}`, described rather than stored. */
export class Latent {
  private cached: string | undefined;

  constructor(
    readonly batch: number,
    /** Size in latent cells (pixels / 8). */
    readonly latentWidth: number,
    readonly latentHeight: number,
    /** The image VAEEncode started from, if any (img2img). */
    readonly source: Tensor | undefined = undefined,
    readonly sampled: SampleInfo | undefined = undefined,
  ) {}

  get width(): number {
    return this.latentWidth * 8;
  }

  get height(): number {
    return this.latentHeight * 8;
  }

  /** The samples tensor (zeros when empty, seeded values otherwise); built on demand. */
  samples(): Tensor {
    const t = new Tensor([this.batch, 4, this.latentHeight, this.latentWidth]);
    if (this.sampled || this.source) {
      const next = rng(hash32(`${this.sampled?.seed ?? 0}|${this.sampled?.positive ?? ''}`));
      for (let i = 0; i < t.size; i++) t.data[i] = (next() - 0.5) * 4;
    }
    return t;
  }

  toString(): string {
    if (this.cached === undefined) {
      const cells = this.batch * 4 * this.latentHeight * this.latentWidth;
      const body = cells <= 16_000_000 ? this.samples().toString() : 'tensor(...)';
      this.cached = `{'samples': ${body}}`;
    }
    return this.cached;
  }
}
