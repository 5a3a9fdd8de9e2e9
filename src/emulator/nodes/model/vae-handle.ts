/** VAE values. */
import { address } from './prng.js';

/** VAE. */
export class VaeHandle {
  constructor(readonly name: string) {}

  toString(): string {
    return `<comfy.sd.VAE object at ${address(`vae:${this.name}`)}>`;
  }
}
