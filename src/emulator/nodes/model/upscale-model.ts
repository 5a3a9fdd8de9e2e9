/** UPSCALE_MODEL values. */
import { address } from './prng.js';

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
