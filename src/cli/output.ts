/**
 * What the remote commands print: aligned tables for people, JSON for scripts. JSON goes out
 * pretty-printed with the keys in the order the caller built them (or the gateway sent them), so
 * `--json` output is stable from one release to the next.
 */

/** A column of {@link table}: its header and whether numbers line up on the right. */
export interface Column {
  header: string;
  align?: 'left' | 'right';
}

/**
 * Lays rows out in aligned columns under upper-case headers, two spaces apart, no trailing
 * blanks.
 *
 * @example
 * table([{ header: 'name' }, { header: 'queue', align: 'right' }], [['gpu-1', '3']]);
 * // 'NAME   QUEUE\ngpu-1      3'
 */
export function table(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const all = [columns.map((c) => c.header.toUpperCase()), ...rows];
  const widths = columns.map((_, i) => Math.max(...all.map((r) => width(r[i] ?? ''))));
  return all
    .map((r) =>
      columns
        .map((c, i) => {
          const cell = r[i] ?? '';
          const pad = ' '.repeat(Math.max(0, (widths[i] ?? 0) - width(cell)));
          return c.align === 'right' ? pad + cell : cell + pad;
        })
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Display width of a cell: code points, so `…` counts as one. */
function width(text: string): number {
  return [...text].length;
}

/**
 * Writes a value as pretty JSON and a newline to stdout.
 *
 * @example
 * printJson({ id: 'a', status: 'running' });
 */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Writes text and a newline to stdout. */
export function printLine(text = ''): void {
  process.stdout.write(`${text}\n`);
}

/**
 * A short id for tables: the first 8 characters of a UUID.
 *
 * @example
 * shortId('7d88e267-42f7-410c-ad26-f3ab4d2e75e9'); // '7d88e267'
 */
export function shortId(id: string): string {
  return /^[0-9a-f]{8}-/.test(id) ? id.slice(0, 8) : id;
}

/**
 * A duration in ms for people: `850ms`, `12.3s`, `4m05s`, `2h10m`.
 *
 * @example
 * formatDuration(125_000); // '2m05s'
 */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const totalSeconds = Math.round(ms / 1000);
  if (totalSeconds < 3600) {
    return `${Math.floor(totalSeconds / 60)}m${String(totalSeconds % 60).padStart(2, '0')}s`;
  }
  const minutes = Math.floor(totalSeconds / 60);
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

/**
 * How long ago an ISO time was, for people: `5s ago`, `3m ago`, `2h ago`, `4d ago`.
 *
 * @example
 * formatAge('2026-01-01T00:00:00Z', Date.parse('2026-01-01T00:03:00Z')); // '3m ago'
 */
export function formatAge(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return '-';
  const s = Math.max(0, Math.round((now - then) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}

/**
 * A byte count for people: `374 B`, `12.5 KiB`, `3.2 MiB`.
 *
 * @example
 * formatBytes(2048); // '2.0 KiB'
 */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '-';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}
