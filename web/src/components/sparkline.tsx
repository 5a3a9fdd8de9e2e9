import type { Point } from '../state/live-series.js';

/**
 * A tiny SVG line of recent values (cheap enough for 50 cards; uPlot is used for full charts).
 *
 * @example
 * <Sparkline points={[[t1, 40], [t2, 55]]} label="Response time, last hour" />
 */
export function Sparkline(props: {
  points: readonly Point[];
  label: string;
  width?: number;
  height?: number;
}) {
  const w = props.width ?? 120;
  const h = props.height ?? 28;
  const pts = props.points.slice(-60);
  if (pts.length < 2) {
    return (
      <svg
        width={w}
        height={h}
        role="img"
        aria-label={`${props.label}: not enough data yet`}
        className="spark"
      >
        <line x1="0" x2={w} y1={h - 1} y2={h - 1} className="spark-base" />
      </svg>
    );
  }
  const t0 = pts[0]![0];
  const t1 = pts[pts.length - 1]![0];
  const max = Math.max(...pts.map((p) => p[1]), 1);
  const d = pts
    .map(([t, v], i) => {
      const x = t1 === t0 ? (i / (pts.length - 1)) * w : ((t - t0) / (t1 - t0)) * w;
      const y = h - 2 - (v / max) * (h - 4);
      return `${i === 0 ? 'M' : 'L'}${x.toFixed(1)},${y.toFixed(1)}`;
    })
    .join(' ');
  const last = pts[pts.length - 1]![1];
  return (
    <svg
      width={w}
      height={h}
      role="img"
      aria-label={`${props.label}: latest ${Math.round(last)} ms, peak ${Math.round(max)} ms`}
      className="spark"
    >
      <path d={d} className="spark-line" fill="none" />
    </svg>
  );
}
