/**
 * The ComfyUI emulator: a server that, over HTTP and WebSocket, behaves like ComfyUI 0.8.0, so
 * tests, benchmarks and demos run without a GPU.
 *
 * @example
 * import { startEmulator } from './emulator/index.js';
 * const emu = await startEmulator({ port: 0, speed: Number.POSITIVE_INFINITY });
 * console.log(emu.url);
 * await emu.close();
 */
export { startEmulator } from './emulator.js';
export { parseModelSpec } from './model-spec.js';
export type { ModelLists } from './nodes/types.js';
export type {
  DeviceProfile,
  EmulatorOptions,
  EmulatorStats,
  FaultConfig,
  RunningEmulator,
} from './options.js';
