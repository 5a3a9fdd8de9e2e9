import { type Static, Type } from 'typebox';
import { schemaErrors } from './validation.js';
import type { ConfigWarning } from './warnings.js';

/** Log levels (pino's). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Gateway-wide tunables, their limits and defaults. */
export const SettingsSchema = Type.Object(
  {
    /** Timeout of one HTTP call to a ComfyUI instance. */
    comfyui_timeout_ms: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 30_000 }),
    health_check_interval_ms: Type.Integer({ minimum: 500, maximum: 3_600_000, default: 30_000 }),
    max_connections_per_instance: Type.Integer({ minimum: 1, maximum: 256, default: 3 }),
    /** Default time limit of one job. */
    job_timeout_ms: Type.Integer({ minimum: 1000, maximum: 7 * 24 * 3_600_000, default: 300_000 }),
    /** Jobs running at once across the fleet; 0 = no gateway-wide cap (per-instance limits apply). */
    max_concurrent_jobs: Type.Integer({ minimum: 0, maximum: 100_000, default: 0 }),
    log_level: Type.Enum(LOG_LEVELS, { default: 'info' }),
    /** Where log files go; null = standard output only. */
    log_directory: Type.Union([Type.String({ minLength: 1 }), Type.Null()], { default: null }),
  },
  { additionalProperties: false },
);
export type Settings = Static<typeof SettingsSchema>;
export type SettingKey = keyof Settings;

/** Settings as they may appear in the config file's `settings` object (all optional). */
export const FileSettingsSchema = Type.Object(
  { ...Type.Partial(SettingsSchema).properties },
  { additionalProperties: false },
);
export type FileSettings = Static<typeof FileSettingsSchema>;

/** Where each resolved value came from. */
export type SettingOrigin = 'flag' | 'env' | 'file' | 'default';

type Kind = 'duration' | 'count' | 'level' | 'path';

/** The environment variable of each setting, and how its text is read. */
export const SETTING_ENV: Record<SettingKey, { variable: string; kind: Kind }> = {
  comfyui_timeout_ms: { variable: 'COMFYUI_TIMEOUT', kind: 'duration' },
  health_check_interval_ms: { variable: 'HEALTH_CHECK_INTERVAL', kind: 'duration' },
  max_connections_per_instance: { variable: 'MAX_CONNECTIONS_PER_INSTANCE', kind: 'count' },
  job_timeout_ms: { variable: 'JOB_TIMEOUT', kind: 'duration' },
  max_concurrent_jobs: { variable: 'MAX_CONCURRENT_JOBS', kind: 'count' },
  log_level: { variable: 'LOG_LEVEL', kind: 'level' },
  log_directory: { variable: 'LOG_DIRECTORY', kind: 'path' },
};

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * A duration in ms from `300000`, `300000ms`, `30s`, `5m` or `1h`.
 *
 * @example
 * parseDuration('30s'); // 30000
 */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/i.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]) * (UNITS[(m[2] ?? 'ms').toLowerCase()] ?? 1);
  return Number.isFinite(n) ? Math.round(n) : undefined;
}

const EXPECTED: Record<Kind, string> = {
  duration: 'a duration in milliseconds like 300000, or with a unit: 30s, 5m, 1h',
  count: 'a whole number like 3',
  level: `one of ${LOG_LEVELS.join(', ')}`,
  path: 'a directory path',
};

function readEnv(kind: Kind, text: string): unknown {
  const t = text.trim();
  switch (kind) {
    case 'duration':
      return parseDuration(t);
    case 'count':
      return /^\d+$/.test(t) ? Number(t) : undefined;
    case 'level': {
      const l = t.toLowerCase();
      return (LOG_LEVELS as readonly string[]).includes(l) ? l : undefined;
    }
    case 'path':
      return t === '' ? undefined : t;
  }
}

/** Inputs of {@link resolveSettings}; each layer may be partial. */
export interface SettingsInput {
  flags?: Partial<Record<SettingKey, unknown>>;
  env?: Readonly<Record<string, string | undefined>>;
  file?: FileSettings | undefined;
}

/** Resolved settings, where each came from, and what was wrong on the way. */
export interface ResolvedSettings {
  settings: Settings;
  origins: Record<SettingKey, SettingOrigin>;
  warnings: ConfigWarning[];
}

/**
 * Resolves the tunables with precedence flags > environment > config file > defaults. A value
 * that does not parse or is out of range gives a warning naming its source and what was
 * expected, and the next layer's value is used.
 *
 * @example
 * const { settings, origins } = resolveSettings({ flags: {}, env: { JOB_TIMEOUT: '10m' }, file: { job_timeout_ms: 60000 } });
 * settings.job_timeout_ms; // 600000 (origins.job_timeout_ms === 'env')
 */
export function resolveSettings(input: SettingsInput): ResolvedSettings {
  const env = input.env ?? {};
  const warnings: ConfigWarning[] = [];
  const settings: Record<string, unknown> = {};
  const origins = {} as Record<SettingKey, SettingOrigin>;
  const props = SettingsSchema.properties;

  const valid = (key: SettingKey, value: unknown): string | undefined => {
    const errors = schemaErrors(props[key], value);
    return errors[0]?.message;
  };

  for (const key of Object.keys(props) as SettingKey[]) {
    const { variable, kind } = SETTING_ENV[key];
    const candidates: { origin: SettingOrigin; source: string; value: unknown; raw?: string }[] =
      [];
    const flag = input.flags?.[key];
    if (flag !== undefined)
      candidates.push({ origin: 'flag', source: `--${key.replace(/_/g, '-')}`, value: flag });
    const text = env[variable];
    if (text !== undefined && text.trim() !== '') {
      candidates.push({ origin: 'env', source: variable, value: readEnv(kind, text), raw: text });
    }
    const fileValue = input.file?.[key];
    if (fileValue !== undefined)
      candidates.push({ origin: 'file', source: `settings.${key}`, value: fileValue });

    const rejected: { source: string; shown: string; problem: string }[] = [];
    let origin: SettingOrigin = 'default';
    let value: unknown = (props[key] as { default?: unknown }).default;
    for (const c of candidates) {
      const problem = c.value === undefined ? `expected ${EXPECTED[kind]}` : valid(key, c.value);
      if (problem === undefined) {
        origin = c.origin;
        value = c.value;
        break;
      }
      const shown = c.raw !== undefined ? JSON.stringify(c.raw) : JSON.stringify(c.value);
      rejected.push({ source: c.source, shown, problem });
    }
    settings[key] = value;
    origins[key] = origin;
    const shownValue = JSON.stringify(value);
    const used =
      origin === 'default'
        ? `using the default ${shownValue}`
        : `using ${shownValue} from ${origin === 'file' ? 'the config file' : origin === 'env' ? variable : 'the command line'}`;
    for (const r of rejected) {
      warnings.push({
        code: 'invalid_value',
        source: r.source,
        message: `${r.source}=${r.shown} is not usable: ${r.problem}; ${used} instead`,
      });
    }
  }
  return { settings: settings as Settings, origins, warnings };
}
