import { performance } from 'node:perf_hooks';
import { ComfyClient, type SystemStats } from '../../comfy/index.js';
import type { InstanceConnection } from '../connection.js';
import type { ConnectionTester, ConnectionTestResult, DeviceSummary } from '../health-types.js';
import { classifyFailure } from './failure-kind.js';

/** What a successful test adds to {@link ConnectionTestResult}: memory figures and the OS. */
export type ConnectionTestReport =
  | (Extract<ConnectionTestResult, { ok: true }> & {
      os: string | null;
      ram_total: number | null;
      ram_free: number | null;
      /** Sum over the devices, in bytes. */
      vram_total: number;
      vram_free: number;
    })
  | Extract<ConnectionTestResult, { ok: false }>;

/** Options of {@link testConnection}. */
export interface ConnectionTestOptions {
  /** ms until the answer's headers (default 10 000). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Options for the ComfyUI client of one instance. */
export interface InstanceClientOptions {
  /** ms until response headers (COMFYUI_TIMEOUT). */
  timeoutMs?: number;
  /** Connections at once (MAX_CONNECTIONS_PER_INSTANCE). */
  maxConnections?: number;
}

/**
 * A ComfyUI client for an instance's connection details (URL and auth headers).
 *
 * @example
 * const client = clientForConnection(registry.connection('gpu1'), { timeoutMs: 30_000 });
 */
export function clientForConnection(
  connection: InstanceConnection,
  options: InstanceClientOptions = {},
): ComfyClient {
  return new ComfyClient({
    baseUrl: connection.base_url,
    headers: connection.headers,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.maxConnections === undefined ? {} : { maxConnections: options.maxConnections }),
  });
}

/** The devices of a /system_stats answer in our shape. */
export function deviceSummaries(stats: SystemStats): DeviceSummary[] {
  return stats.devices.map((d) => ({
    name: String(d.name),
    type: String(d.type),
    index: typeof d.index === 'number' ? d.index : null,
    vram_total: Number(d.vram_total) || 0,
    vram_free: Number(d.vram_free) || 0,
  }));
}

function numberOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/**
 * "Test connection": asks the instance for `/system_stats` and reports its ComfyUI version,
 * devices, VRAM and RAM and the round trip, or exactly why that failed (`dns`, `refused`,
 * `timeout`, `tls`, `http_status` with the status, `not_comfyui` when something answered that is
 * not ComfyUI, `network` otherwise). Never throws; uses a client of its own, closed afterwards.
 *
 * @example
 * const r = await testConnection(registry.connection('gpu1'), { timeoutMs: 5000 });
 * if (r.ok) console.log(r.comfyui_version, r.round_trip_ms);
 * else console.log(r.kind, r.message);
 */
export async function testConnection(
  connection: InstanceConnection,
  options: ConnectionTestOptions = {},
): Promise<ConnectionTestReport> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  let client: ComfyClient;
  try {
    client = clientForConnection(connection, { timeoutMs, maxConnections: 1 });
  } catch (err) {
    return { ok: false, kind: 'network', message: classifyFailure(err).message };
  }
  const started = performance.now();
  try {
    const stats = await client.getSystemStats(
      options.signal ? { signal: options.signal, timeoutMs } : { timeoutMs },
    );
    const round_trip_ms = Math.round((performance.now() - started) * 10) / 10;
    const devices = deviceSummaries(stats);
    const system = stats.system;
    return {
      ok: true,
      comfyui_version: stringOrNull(system.comfyui_version) ?? 'unknown',
      python_version: stringOrNull(system.python_version),
      pytorch_version: stringOrNull(system.pytorch_version),
      devices,
      round_trip_ms,
      os: stringOrNull(system.os),
      ram_total: numberOrNull(system.ram_total),
      ram_free: numberOrNull(system.ram_free),
      vram_total: devices.reduce((n, d) => n + d.vram_total, 0),
      vram_free: devices.reduce((n, d) => n + d.vram_free, 0),
    };
  } catch (err) {
    const failure = classifyFailure(err);
    return {
      ok: false,
      ...failure,
      round_trip_ms: Math.round((performance.now() - started) * 10) / 10,
    };
  } finally {
    client.close();
  }
}

/**
 * {@link testConnection} behind the fleet's `ConnectionTester` seam.
 *
 * @example
 * const result = await connectionTester.test(registry.connection('gpu1'));
 */
export const connectionTester: ConnectionTester = {
  test: (connection, signal) => testConnection(connection, signal ? { signal } : {}),
};
