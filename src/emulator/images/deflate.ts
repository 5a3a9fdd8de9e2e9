/**
 * zlib deflate for many small buffers. `deflateSync` builds a new zlib stream per call (a Transform
 * stream object plus ~400 KB of native state at memLevel 9): about 12 µs of a 15 µs call for a
 * tiny image, and garbage for every PNG. Here one native stream per (level, memLevel) is reset and
 * reused; zlib's deflateReset leaves it exactly as freshly initialised, so the bytes are the same.
 *
 * The reuse goes through the stream's native handle (`_handle.writeSync`, `_writeState`), which
 * Node does not document. The fast path is therefore checked once against `deflateSync` and used
 * only when it gives identical bytes; any surprise later falls back to `deflateSync` for good.
 *
 * deflateReset does not clear the sliding window, and the match search may look up to 258 bytes
 * past the end of the input, where a fresh stream has zeros. A previous input longer than the
 * next one would leave its bytes there, so before such a shorter input the stream compresses as
 * many zero bytes as the window holds dirty ones (output thrown away): the window is then all
 * zeros again, as in a fresh stream. Inputs of one size in a row (a bench's PNGs) need no such
 * pass. Inputs stay within half the window, so it never slides.
 */
import { constants, Deflate, deflateSync } from 'node:zlib';

interface NativeHandle {
  reset(): void;
  writeSync(
    flush: number,
    input: Uint8Array,
    inOffset: number,
    inLength: number,
    output: Uint8Array,
    outOffset: number,
    outLength: number,
  ): void;
}

interface Engine {
  handle: NativeHandle;
  /** Zeros for restoring the window; grows with the largest input. */
  zeros: Buffer;
  /** Leading window bytes that hold the last input (all later bytes are zero). */
  dirty: number;
  /** [avail_out, avail_in] after the last writeSync. */
  state: Uint32Array;
  /** Keeps the stream object (and so its native handle) alive. */
  stream: Deflate;
}

const engines = new Map<number, Engine | null>();

function createEngine(level: number, memLevel: number): Engine | null {
  try {
    const stream = new Deflate({ level, memLevel });
    // A native error would be emitted later; the caller has fallen back by then.
    stream.on('error', () => undefined);
    const internals = stream as unknown as { _handle?: unknown; _writeState?: unknown };
    const handle = internals._handle as Partial<NativeHandle> | undefined;
    const state = internals._writeState;
    if (
      typeof handle?.reset !== 'function' ||
      typeof handle.writeSync !== 'function' ||
      !(state instanceof Uint32Array)
    ) {
      return null;
    }
    const engine: Engine = {
      handle: handle as NativeHandle,
      state,
      stream,
      zeros: Buffer.alloc(0),
      dirty: 0,
    };
    // Self-check: repetitive inputs of falling sizes, each right after a larger one, must give
    // deflateSync's bytes.
    for (const size of [3000, 700, 700, 699, 64, 1, 2000]) {
      const sample = Buffer.alloc(size);
      for (let i = 0; i < size; i++) sample[i] = (i * 7) % 23 < 9 ? 200 : (i % 5) * 3;
      const fast = run(engine, sample);
      if (fast === undefined || !fast.equals(deflateSync(sample, { level, memLevel }))) return null;
    }
    return engine;
  } catch {
    return null;
  }
}

/** Compresses `input` from a reset stream; undefined when the stream did not end. */
function compress(engine: Engine, input: Uint8Array, out: Buffer): number | undefined {
  engine.handle.reset();
  engine.handle.writeSync(constants.Z_FINISH, input, 0, input.length, out, 0, out.length);
  const availOut = engine.state[0] ?? 0;
  const availIn = engine.state[1] ?? 1;
  // With Z_FINISH, all input taken and room left over means the stream ended (Z_STREAM_END).
  if (availIn !== 0 || availOut === 0) return undefined;
  return out.length - availOut;
}

function run(engine: Engine, input: Uint8Array): Buffer | undefined {
  // zlib's compressBound plus room for the header and trailer.
  const capacity = input.length + (input.length >>> 12) + (input.length >>> 14) + 64;
  const out = Buffer.allocUnsafe(capacity);
  if (input.length < engine.dirty) {
    // Back to an all-zero window (see the top of this file).
    if (engine.zeros.length < engine.dirty) engine.zeros = Buffer.alloc(engine.dirty);
    if (compress(engine, engine.zeros.subarray(0, engine.dirty), scratch) === undefined) {
      return undefined;
    }
  }
  engine.dirty = input.length;
  const length = compress(engine, input, out);
  if (length === undefined) return undefined;
  return out.subarray(0, length);
}

/** Output room for compressing zeros (about 1 byte per 258 in, at most 32 KiB in). */
const scratch = Buffer.alloc(1024);

/** Inputs up to this size go through a reused stream: half the window, so it never slides. */
const MAX_FAST_INPUT = 32 * 1024;

/**
 * zlib-format deflate of `input`, byte-identical to `deflateSync(input, { level, memLevel })`.
 *
 * @example
 * const idat = deflate(filteredRows, 4, 9);
 */
export function deflate(input: Uint8Array, level: number, memLevel: number): Buffer {
  if (input.length <= MAX_FAST_INPUT) {
    const key = level * 16 + memLevel;
    let engine = engines.get(key);
    if (engine === undefined) {
      engine = createEngine(level, memLevel);
      engines.set(key, engine);
    }
    if (engine !== null) {
      try {
        const out = run(engine, input);
        if (out !== undefined) return out;
      } catch {
        // fall through to a fresh stream
      }
      engines.set(key, null);
      engine.stream.close();
    }
  }
  return deflateSync(input, { level, memLevel });
}
