/**
 * A dense float32 tensor, the way ComfyUI passes pixels between nodes: IMAGE is `[B, H, W, C]`
 * (C = 3 for RGB, 4 for RGBA, values 0..1) and MASK is `[B, H, W]`. Data is row-major, last axis
 * fastest. Storing float32 makes every single arithmetic step round like torch's float32 ops.
 */
import { formatTensor } from './tensor-repr.js';

export class Tensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;

  constructor(shape: readonly number[], data?: Float32Array) {
    let size = 1;
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0)
        throw new RangeError(`bad tensor shape [${shape.join(', ')}]`);
      size *= d;
    }
    if (data !== undefined && data.length !== size) {
      throw new RangeError(`tensor data has ${data.length} values, shape needs ${size}`);
    }
    this.shape = [...shape];
    this.data = data ?? new Float32Array(size);
  }

  /** Number of dimensions. */
  get rank(): number {
    return this.shape.length;
  }

  /** Size along dimension `i` (negative counts from the end, as in torch). */
  dim(i: number): number {
    const d = this.shape[i < 0 ? this.shape.length + i : i];
    if (d === undefined) throw new RangeError(`dimension ${i} out of range for rank ${this.rank}`);
    return d;
  }

  get size(): number {
    return this.data.length;
  }

  /** Python's `str(tensor)` (what ComfyUI puts into `current_inputs` of an execution error). */
  toString(): string {
    return formatTensor(this);
  }
}

/** Image dimensions of an IMAGE tensor `[B, H, W, C]`. */
export interface ImageDims {
  batch: number;
  height: number;
  width: number;
  channels: number;
}

/**
 * Reads the dimensions of an IMAGE tensor; throws if it is not 4-D.
 *
 * @example
 * const { width, height } = imageDims(createImage(1, 8, 16, 3)); // width 16, height 8
 */
export function imageDims(t: Tensor): ImageDims {
  if (t.rank !== 4) throw new TypeError(`expected an IMAGE tensor [B,H,W,C], got rank ${t.rank}`);
  return { batch: t.dim(0), height: t.dim(1), width: t.dim(2), channels: t.dim(3) };
}

/** A zero-filled IMAGE tensor. */
export function createImage(batch: number, height: number, width: number, channels = 3): Tensor {
  return new Tensor([batch, height, width, channels]);
}

/** A zero-filled MASK tensor `[B, H, W]`. */
export function createMask(batch: number, height: number, width: number): Tensor {
  return new Tensor([batch, height, width]);
}

/**
 * Views a MASK as `[B, H, W]` (a 2-D mask counts as one image), as ComfyUI's
 * `mask.reshape((-1, H, W))` does.
 */
export function maskDims(t: Tensor): { batch: number; height: number; width: number } {
  if (t.rank < 2) throw new TypeError(`expected a MASK tensor, got rank ${t.rank}`);
  const height = t.dim(-2);
  const width = t.dim(-1);
  const plane = height * width;
  return { batch: plane === 0 ? 0 : t.size / plane, height, width };
}

/** One image of a batch as its own `[1, H, W, C]` tensor (copy). */
export function sliceBatch(t: Tensor, index: number): Tensor {
  const per = t.size / t.dim(0);
  return new Tensor([1, ...t.shape.slice(1)], t.data.slice(index * per, (index + 1) * per));
}

/** Type guard for values flowing between nodes. */
export function isTensor(value: unknown): value is Tensor {
  return value instanceof Tensor;
}
