import { describe, expect, it } from 'vitest';
import { parseDuration, resolveSettings } from './settings.js';

describe('resolveSettings', () => {
  it('defaults when nothing is given', () => {
    const r = resolveSettings({});
    expect(r.settings).toEqual({
      comfyui_timeout_ms: 30000,
      health_check_interval_ms: 30000,
      max_connections_per_instance: 3,
      job_timeout_ms: 300000,
      max_concurrent_jobs: 0,
      log_level: 'info',
      log_directory: null,
    });
    expect(new Set(Object.values(r.origins))).toEqual(new Set(['default']));
    expect(r.warnings).toEqual([]);
  });

  it('precedence: flags > env > file > defaults, per setting', () => {
    const r = resolveSettings({
      flags: { job_timeout_ms: 1000 },
      env: {
        JOB_TIMEOUT: '120000',
        COMFYUI_TIMEOUT: '60000',
        LOG_LEVEL: 'DEBUG',
        LOG_DIRECTORY: './logs',
      },
      file: { job_timeout_ms: 5000, comfyui_timeout_ms: 5000, max_connections_per_instance: 5 },
    });
    expect(r.settings).toMatchObject({
      job_timeout_ms: 1000,
      comfyui_timeout_ms: 60000,
      max_connections_per_instance: 5,
      log_level: 'debug',
      log_directory: './logs',
      health_check_interval_ms: 30000,
    });
    expect(r.origins).toMatchObject({
      job_timeout_ms: 'flag',
      comfyui_timeout_ms: 'env',
      max_connections_per_instance: 'file',
      health_check_interval_ms: 'default',
    });
  });

  it('the seed .env values are accepted as they are written', () => {
    const r = resolveSettings({
      env: {
        COMFYUI_TIMEOUT: '60000',
        MAX_CONNECTIONS_PER_INSTANCE: '3',
        HEALTH_CHECK_INTERVAL: '30000',
        JOB_TIMEOUT: '300000',
        MAX_CONCURRENT_JOBS: '6',
        LOG_LEVEL: 'info',
        LOG_DIRECTORY: './logs',
      },
    });
    expect(r.warnings).toEqual([]);
    expect(r.settings.max_concurrent_jobs).toBe(6);
  });

  it('a value that does not parse is named, and the next layer is used', () => {
    const r = resolveSettings({
      env: { JOB_TIMEOUT: 'soon', MAX_CONNECTIONS_PER_INSTANCE: '0', LOG_LEVEL: 'loud' },
      file: { job_timeout_ms: 60000 },
    });
    expect(r.settings).toMatchObject({
      job_timeout_ms: 60000,
      max_connections_per_instance: 3,
      log_level: 'info',
    });
    expect(r.origins.job_timeout_ms).toBe('file');
    expect(r.warnings.map((w) => `${w.source}: ${w.message}`)).toEqual([
      'MAX_CONNECTIONS_PER_INSTANCE: MAX_CONNECTIONS_PER_INSTANCE="0" is not usable: must be between 1 and 256, got 0; using the default 3 instead',
      'JOB_TIMEOUT: JOB_TIMEOUT="soon" is not usable: expected a duration in milliseconds like 300000, or with a unit: 30s, 5m, 1h; using 60000 from the config file instead',
      'LOG_LEVEL: LOG_LEVEL="loud" is not usable: expected one of fatal, error, warn, info, debug, trace, silent; using the default "info" instead',
    ]);
  });

  it('bad flags fall through too', () => {
    const r = resolveSettings({
      flags: { health_check_interval_ms: -5 },
      env: { HEALTH_CHECK_INTERVAL: '10s' },
    });
    expect(r.settings.health_check_interval_ms).toBe(10000);
    expect(r.warnings[0]).toMatchObject({
      source: '--health-check-interval-ms',
      code: 'invalid_value',
    });
  });
});

describe('parseDuration', () => {
  it.each([
    ['300000', 300000],
    ['250ms', 250],
    ['30s', 30000],
    ['1.5s', 1500],
    ['5m', 300000],
    ['1h', 3600000],
    ['abc', undefined],
    ['-5', undefined],
  ])('%s -> %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
});
