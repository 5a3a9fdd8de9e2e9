/** The faults an instance is told to produce, changed at run time. */
import type { FaultConfig } from './options.js';

/**
 * Merges fault settings the way `setFaults` documents: given fields replace the current ones, and
 * an empty value (`{}`, `[]`, `0`, `false`) switches that fault off.
 *
 * @example
 * const faults = new FaultState();
 * faults.merge({ httpErrors: { '/prompt': 503 } });
 */
export class FaultState {
  current: FaultConfig = {};

  merge(update: FaultConfig): void {
    const next: FaultConfig = { ...this.current };
    for (const key of Object.keys(update) as (keyof FaultConfig)[]) {
      const value = update[key];
      if (isEmpty(value)) delete next[key];
      else Object.assign(next, { [key]: value });
    }
    this.current = next;
  }

  clear(): void {
    this.current = {};
  }

  /** The 5xx status configured for a route (path without the /api prefix), if any. */
  httpError(path: string, template: string): number | undefined {
    const errors = this.current.httpErrors;
    if (errors === undefined) return undefined;
    return errors[path] ?? errors[template];
  }
}

function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === 0) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object') return Object.keys(value).length === 0;
  return false;
}

/** Checks a FaultConfig received as JSON; returns an error message or undefined. */
export function checkFaultConfig(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'faults must be a JSON object';
  }
  const v = value as Record<string, unknown>;
  const known = [
    'nodeErrors',
    'oomNodes',
    'httpErrors',
    'slowResponsesMs',
    'hang',
    'dropWebSockets',
  ];
  for (const key of Object.keys(v)) {
    if (!known.includes(key)) return `unknown fault "${key}" (known: ${known.join(', ')})`;
  }
  if (
    v.oomNodes !== undefined &&
    !(Array.isArray(v.oomNodes) && v.oomNodes.every((x) => typeof x === 'string'))
  ) {
    return 'oomNodes must be a list of node class names';
  }
  if (v.httpErrors !== undefined) {
    if (typeof v.httpErrors !== 'object' || v.httpErrors === null)
      return 'httpErrors must be an object';
    for (const [route, status] of Object.entries(v.httpErrors)) {
      if (typeof status !== 'number' || status < 500 || status > 599) {
        return `httpErrors["${route}"] must be a 5xx status`;
      }
    }
  }
  if (v.nodeErrors !== undefined) {
    if (typeof v.nodeErrors !== 'object' || v.nodeErrors === null)
      return 'nodeErrors must be an object';
    for (const [cls, spec] of Object.entries(v.nodeErrors)) {
      const s = spec as Record<string, unknown> | null;
      if (
        typeof s !== 'object' ||
        s === null ||
        typeof s.exception_type !== 'string' ||
        typeof s.exception_message !== 'string'
      ) {
        return `nodeErrors["${cls}"] needs exception_type and exception_message strings`;
      }
    }
  }
  if (
    v.slowResponsesMs !== undefined &&
    (typeof v.slowResponsesMs !== 'number' || v.slowResponsesMs < 0)
  ) {
    return 'slowResponsesMs must be a number >= 0';
  }
  for (const key of ['hang', 'dropWebSockets']) {
    if (v[key] !== undefined && typeof v[key] !== 'boolean') return `${key} must be true or false`;
  }
  return undefined;
}
