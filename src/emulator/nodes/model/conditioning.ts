/** CONDITIONING values: an encoded prompt text, printed like ComfyUI's nested lists of tensors. */
import { Tensor } from '../../images/index.js';
import type { ClipHandle } from './clip-handle.js';
import { hash32, rng } from './prng.js';

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
