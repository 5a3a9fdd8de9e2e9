/**
 * Simulated GPU time for nodes. ComfyUI checks for an interrupt between nodes and inside samplers,
 * not inside an ordinary image node: such a node finishes and the interrupt lands on the next one.
 * `finishWork` gives that behaviour (the wait ends early, the node still completes; the executor
 * keeps the interrupt pending), `ctx.work` the interruptible one.
 */
import { BlurError, ChannelIndexError, ScaleError } from '../images/index.js';
import { PythonNodeError } from './node-error.js';
import { InterruptedError, type NodeContext, NodeExecutionError } from './types.js';

/**
 * Waits `ms` of simulated time; an interrupt only shortens the wait.
 *
 * @example
 * await finishWork(ctx, 5);
 */
export async function finishWork(ctx: NodeContext, ms: number): Promise<void> {
  try {
    await ctx.work(ms);
  } catch (err) {
    if (!(err instanceof InterruptedError)) throw err;
  }
}

/** Maps an image-library error to the Python exception a real node raises. */
export function asNodeError(err: unknown): unknown {
  if (err instanceof NodeExecutionError || err instanceof InterruptedError) return err;
  if (err instanceof ChannelIndexError) return new PythonNodeError('IndexError', err.message);
  if (err instanceof ScaleError || err instanceof BlurError || err instanceof RangeError) {
    return new PythonNodeError('RuntimeError', err.message);
  }
  if (err instanceof TypeError) return new PythonNodeError('TypeError', err.message);
  return err;
}

/**
 * Runs a pixel operation, turning library errors into Python-like node errors.
 *
 * @example
 * const out = pixelOp(() => invert(image));
 */
export function pixelOp<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw asNodeError(err);
  }
}
