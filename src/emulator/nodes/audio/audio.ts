/** AUDIO values. */
import { pyRepr } from '../../../comfy/python-format.js';

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
