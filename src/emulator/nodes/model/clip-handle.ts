/** CLIP values. */
import type { LoraUse } from './model-handle.js';
import { address } from './prng.js';

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
