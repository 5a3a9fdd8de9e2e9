/** MODEL values: which checkpoint and LoRAs a "loaded model" stands for. */
import { address } from './prng.js';

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
