/**
 * zlib deflate for many small buffers. `deflateSync` builds a new zlib stream per call (a Transform
 * stream object plus ~400 KB of native state at memLevel 9): about 12 µs of a 15 µs call for a
 * tiny image, and garbage for every PNG. Here one native stream per (level, memLevel) is reset and
 * reused; zlib's deflateReset leaves it exactly as freshly initialised, so the bytes are the same.
 *
 * The reuse goes through the stream's native handle (`_handle.writeSync`, `_writeState`), which
 * Node does not document. The fast path is therefore checked once against `deflateSync` and used
 * only when it gives identical bytes; any surprise later falls back to `deflateSync` for good.
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
    const engine: Engine = { handle: handle as NativeHandle, state, stream };
    // Self-check on a sample with matches and literals: the fast path must give deflateSync's bytes.
    const sample = Buffer.alloc(600);
    for (let i = 0; i < sample.length; i++) sample[i] = (i * 7) % 251 < 40 ? 0 : (i * 13) & 0xff;
    for (let round = 0; round < 2; round++) {
      const fast = run(engine, sample);
      if (fast === undefined || !fast.equals(deflateSync(sample, { level, memLevel }))) return null;
    }
    return engine;
  } catch {
    return null;
  }
}

function run(engine: Engine, input: Uint8Array): Buffer | undefined {
  // zlib's compressBound plus room for the header and trailer.
  const capacity = input.length + (input.length >>> 12) + (input.length >>> 14) + 64;
  const out = Buffer.allocUnsafe(capacity);
  engine.handle.reset();
  engine.handle.writeSync(constants.Z_FINISH, input, 0, input.length, out, 0, capacity);
  const availOut = engine.state[0] ?? 0;
  const availIn = engine.state[1] ?? 1;
  // With Z_FINISH, all input taken and room left over means the stream ended (Z_STREAM_END).
  if (availIn !== 0 || availOut === 0) return undefined;
  return out.subarray(0, capacity - availOut);
}

/** Inputs up to this size go through a reused stream; larger ones gain nothing from it. */
const MAX_FAST_INPUT = 256 * 1024;

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
