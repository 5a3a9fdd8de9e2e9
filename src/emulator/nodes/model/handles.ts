/**
 * The values model nodes pass around instead of real weights: which checkpoint, LoRAs and prompt
 * texts a value stands for. Each prints like the Python object it replaces (`str()` is what an
 * execution error shows in `current_inputs`).
 */
import { createHash } from 'node:crypto';
import { Tensor } from '../../images/index.js';
import { pyRepr } from '../python.js';

/** A stable fake memory address for a Python object repr. */
function address(key: string): string {
  return `0x7f${createHash('sha1').update(key).digest('hex').slice(0, 10)}`;
}

/** 32-bit FNV-1a of a string, for seeding. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A small deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface LoraUse {
  name: string;
  strength: number;
}

/** MODEL: the diffusion model of a checkpoint, with LoRAs applied. */
export class ModelHandle {
  constructor(
    readonly checkpoint: string,
    readonly loras: readonly LoraUse[] = [],
  ) {}

  /** A key for everything that changes the model's output. */
  get identity(): string {
    return `${this.checkpoint}|${this.loras.map((l) => `${l.name}:${l.strength}`).join(',')}`;
  }

  toString(): string {
    return `<comfy.model_patcher.ModelPatcher object at ${address(`model:${this.identity}`)}>`;
  }
}

/** CLIP: the text encoder of a checkpoint. */
export class ClipHandle {
  constructor(
    readonly checkpoint: string,
    readonly loras: readonly LoraUse[] = [],
  ) {}

  toString(): string {
    return `<comfy.sd.CLIP object at ${address(`clip:${this.checkpoint}:${this.loras.length}`)}>`;
  }
}

/** VAE. */
export class VaeHandle {
  constructor(readonly name: string) {}

  toString(): string {
    return `<comfy.sd.VAE object at ${address(`vae:${this.name}`)}>`;
  }
}

/** CONDITIONING: an encoded prompt text. */
export class Conditioning {
  private cached: string | undefined;

  constructor(
    readonly text: string,
    readonly clip: ClipHandle,
  ) {}

  toString(): string {
    if (this.cached === undefined) {
      const next = rng(hash32(this.text));
      const cond = new Tensor([1, 77, 768]);
      for (let i = 0; i < cond.size; i++) cond.data[i] = (next() - 0.5) * 2;
      const pooled = new Tensor([1, 768]);
      for (let i = 0; i < pooled.size; i++) pooled.data[i] = (next() - 0.5) * 2;
      this.cached = `[[${cond.toString()}, {'pooled_output': ${pooled.toString()}}]]`;
    }
    return this.cached;
  }
}

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

/** UPSCALE_MODEL: a loaded super-resolution model. */
export class UpscaleModel {
  constructor(
    readonly name: string,
    readonly scale: number,
  ) {}

  toString(): string {
    return `<spandrel.__helpers.model_descriptor.ImageModelDescriptor object at ${address(`upscale:${this.name}`)}>`;
  }
}

/** AUDIO: `{"waveform": tensor [B, C, N], "sample_rate": int}`; `null` samples mean silence. */
export class Audio {
  constructor(
    readonly channels: number,
    readonly sampleRate: number,
    readonly length: number,
    readonly samples: Float32Array[] | null = null,
  ) {}

  toString(): string {
    return `{'waveform': tensor(..., size=(1, ${this.channels}, ${this.length})), 'sample_rate': ${pyRepr(this.sampleRate)}}`;
  }
}
