import { useEffect, useRef, useSyncExternalStore } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartSeries {
  label: string;
  /** CSS colour (a var() is resolved against the document). */
  color: string;
  values: ReadonlyArray<number | null>;
}

function cssColor(c: string): string {
  const m = /^var\((--[\w-]+)\)$/.exec(c);
  if (!m || typeof getComputedStyle !== 'function') return c;
  return getComputedStyle(document.documentElement).getPropertyValue(m[1]!).trim() || '#888';
}

function subscribeTheme(fn: () => void): () => void {
  if (typeof MutationObserver === 'undefined') return () => undefined;
  const mo = new MutationObserver(fn);
  mo.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });
  return () => mo.disconnect();
}

/** The current `data-theme` of <html> (charts resolve their colours per theme). */
function useThemeAttr(): string {
  return useSyncExternalStore(
    subscribeTheme,
    () => document.documentElement.dataset.theme ?? '',
    () => '',
  );
}

/**
 * A small uPlot time chart. `times` are seconds since epoch. Redraws on data change; resizes with
 * its container. Has an accessible label and a text summary for screen readers.
 *
 * @example
 * <TimeChart label="Response time" times={t} series={[{ label: 'ms', color: 'var(--accent)', values: v }]} height={80} />
 */
export function TimeChart(props: {
  label: string;
  times: readonly number[];
  series: ChartSeries[];
  height?: number;
  compact?: boolean;
  unit?: string;
  /** Seconds of history shown, ending now (default an hour). */
  windowSec?: number;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const height = props.height ?? 160;
  const windowSec = props.windowSec ?? 3600;
  const theme = useThemeAttr();
  const shape = `${props.series.map((s) => s.label).join('|')}${props.compact ? ':c' : ''}:${theme}`;

  // biome-ignore lint/correctness/useExhaustiveDependencies: rebuilt only when the series set changes
  useEffect(() => {
    const el = ref.current;
    if (!el || typeof window === 'undefined' || !('matchMedia' in window)) return;
    const axisColor = cssColor('var(--muted)');
    const gridColor = cssColor('var(--border)');
    const opts: uPlot.Options = {
      width: el.clientWidth || 300,
      height,
      legend: { show: !props.compact },
      cursor: { show: !props.compact },
      // Always the last `windowSec` up to now, so one sample does not stretch the axis to years.
      scales: {
        x: {
          time: true,
          range: (): uPlot.Range.MinMax => {
            const now = Date.now() / 1000;
            return [now - windowSec, now];
          },
        },
      },
      axes: props.compact
        ? [{ show: false }, { show: false }]
        : [
            { stroke: axisColor, grid: { stroke: gridColor, width: 1 }, space: 80 },
            { stroke: axisColor, grid: { stroke: gridColor, width: 1 }, size: 50 },
          ],
      series: [
        {},
        ...props.series.map((s) => ({
          label: s.label,
          stroke: cssColor(s.color),
          width: 1.5,
          spanGaps: true,
          points: { show: false },
        })),
      ],
    };
    const data = [
      props.times,
      ...props.series.map((s) => s.values),
    ] as unknown as uPlot.AlignedData;
    const u = new uPlot(opts, data, el);
    plot.current = u;
    const ro =
      typeof ResizeObserver === 'undefined'
        ? null
        : new ResizeObserver(() => u.setSize({ width: el.clientWidth || 300, height }));
    ro?.observe(el);
    return () => {
      ro?.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [shape, height, windowSec]);

  useEffect(() => {
    plot.current?.setData([
      props.times,
      ...props.series.map((s) => s.values),
    ] as unknown as uPlot.AlignedData);
  });

  const last = props.series.map((s) => {
    const v = [...s.values].reverse().find((x) => x !== null && x !== undefined);
    return `${s.label}: ${v === undefined || v === null ? 'no data' : `${Math.round(v)}${props.unit ?? ''}`}`;
  });
  return (
    <figure className="chart" aria-label={props.label}>
      <div ref={ref} className="chart-canvas" style={{ minHeight: height }} aria-hidden="true" />
      <figcaption className={props.compact ? 'sr-only' : 'chart-caption'}>
        {props.label} — {props.times.length === 0 ? 'no data yet' : last.join(', ')}
      </figcaption>
    </figure>
  );
}
