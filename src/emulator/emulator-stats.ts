/** Counters behind `RunningEmulator.stats()` and GET /__emulator/stats. */
import type { EmulatorStats } from './options.js';

/**
 * @example
 * const stats = new StatsCounter();
 * stats.request('GET /system_stats');
 */
export class StatsCounter {
  private requests = new Map<string, number>();
  prompts = { accepted: 0, succeeded: 0, failed: 0, interrupted: 0 };
  private openedBase = 0;

  request(key: string): void {
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
  }

  snapshot(websockets: { opened: number; open: number }): EmulatorStats {
    return {
      requests: Object.fromEntries(this.requests),
      prompts: { ...this.prompts },
      websockets: { opened: websockets.opened - this.openedBase, open: websockets.open },
    };
  }

  reset(openedNow: number): void {
    this.requests = new Map();
    this.prompts = { accepted: 0, succeeded: 0, failed: 0, interrupted: 0 };
    this.openedBase = openedNow;
  }
}
