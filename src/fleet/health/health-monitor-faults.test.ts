/**
 * Failure detection end to end: a killed instance (in-process emulator closed, and an emulator
 * process SIGKILLed), a hung one (accepts TCP, never answers), and their return.
 */
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../emulator/index.js';
import type { InstanceRegistry } from '../instance-registry.js';
import { HealthMonitor } from './health-monitor.js';
import type { HealthLogger, HealthMonitorOptions } from './monitor-options.js';
import {
  type EmulatorChild,
  freePort,
  openRegistry,
  startEmulatorChild,
  tempDir,
  until,
} from './testing/support.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

const quiet: HealthLogger = { warn: () => undefined };

async function emulatorOn(port: number): Promise<RunningEmulator> {
  const emu = await startEmulator({ port, speed: Number.POSITIVE_INFINITY });
  cleanups.push(() => emu.close());
  return emu;
}

async function monitorFor(
  ports: number[],
  options: Partial<HealthMonitorOptions>,
): Promise<{ registry: InstanceRegistry; monitor: HealthMonitor; ids: string[] }> {
  const tmp = await tempDir('cc-health-faults-');
  cleanups.push(tmp.remove);
  const { registry, bus } = await openRegistry(tmp.dir);
  cleanups.push(() => registry.close());
  const ids: string[] = [];
  for (const [i, port] of ports.entries()) {
    ids.push((await registry.create({ name: `emu${i}`, host: '127.0.0.1', port })).id);
  }
  const monitor = new HealthMonitor({ ...options, logger: quiet, fleet: registry, bus });
  cleanups.push(() => monitor.close());
  monitor.start();
  return { registry, monitor, ids };
}

describe('failure detection', () => {
  it('a killed instance is unhealthy within 2 s (socket drop, default interval) and healthy soon after it returns', async () => {
    const port = await freePort();
    const emu = await emulatorOn(port);
    // Default 30 s interval: only the dropped WebSocket can make this fast.
    const { monitor, ids } = await monitorFor([port], {
      eventStream: { clientIdPrefix: 'faults-kill' },
    });
    const id = ids[0] ?? '';
    await until(() => monitor.report(id)?.events_connection === 'connected', 3_000, 'connected');
    await until(() => monitor.health(id).health === 'healthy', 3_000, 'healthy');

    await emu.close();
    await until(() => monitor.health(id).health === 'unhealthy', 2_000, 'unhealthy after the kill');
    const down = monitor.report(id);
    expect(down).toMatchObject({
      circuit: 'open',
      consecutive_failures: 3,
      last_error_kind: 'refused',
    });

    await emulatorOn(port);
    await until(() => monitor.health(id).health === 'healthy', 6_000, 'healthy after the return');
    expect(monitor.report(id)?.consecutive_failures).toBe(0);
    await until(() => monitor.report(id)?.events_connection === 'connected', 6_000, 'socket back');
  });

  it('a hung instance (TCP accepted, no answer) is unhealthy after timeout × threshold', async () => {
    const emu = await emulatorOn(0);
    const timeoutMs = 300;
    const { monitor, ids } = await monitorFor([emu.port], {
      intervalMs: 200,
      checkTimeoutMs: timeoutMs,
      recheckDelayMs: 50,
      failureThreshold: 3,
      probeInitialDelayMs: 200,
      probeMaxDelayMs: 400,
      eventStream: { clientIdPrefix: 'faults-hang' },
    });
    const id = ids[0] ?? '';
    await until(() => monitor.health(id).health === 'healthy', 3_000, 'healthy');

    emu.setFaults({ hang: true });
    const hungAt = performance.now();
    await until(() => monitor.health(id).health === 'unhealthy', 5_000, 'unhealthy while hung');
    // Three checks had to time out first; the socket stays up, so only the checks can tell.
    expect(performance.now() - hungAt).toBeGreaterThanOrEqual(3 * timeoutMs - 50);
    const report = monitor.report(id);
    expect(report).toMatchObject({ circuit: 'open', last_error_kind: 'timeout' });
    expect(report?.consecutive_failures).toBeGreaterThanOrEqual(3);
    expect(report?.last_error).toMatch(/timed out after 300 ms/);
    expect(report?.events_connection).toBe('connected');

    emu.setFaults({ hang: false });
    await until(() => monitor.health(id).health === 'healthy', 3_000, 'healthy once it answers');
  });

  it('emulator processes: a SIGKILLed one is unhealthy within 2 s, the other stays healthy; restarted, it is healthy again', async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    let a: EmulatorChild = await startEmulatorChild(portA, ['--speed', 'Infinity']);
    cleanups.push(() => a.kill());
    const b = await startEmulatorChild(portB, ['--speed', 'Infinity']);
    cleanups.push(() => b.kill());
    const { monitor, ids } = await monitorFor([portA, portB], {
      eventStream: { clientIdPrefix: 'faults-proc' },
    });
    const [idA = '', idB = ''] = ids;
    await until(
      () => ids.every((id) => monitor.report(id)?.events_connection === 'connected'),
      5_000,
      'both connected',
    );
    await until(
      () => ids.every((id) => monitor.health(id).health === 'healthy'),
      3_000,
      'both healthy',
    );

    await a.kill();
    await until(
      () => monitor.health(idA).health === 'unhealthy',
      2_000,
      'killed process unhealthy',
    );
    expect(monitor.health(idB).health).toBe('healthy');

    a = await startEmulatorChild(portA, ['--speed', 'Infinity']);
    await until(() => monitor.health(idA).health === 'healthy', 6_000, 'restarted process healthy');
    expect(monitor.health(idB).health).toBe('healthy');
  }, 40_000);
});
