import { type ReactNode, useCallback, useEffect, useRef, useState } from 'react';

/**
 * Which rows of a fixed-row-height list are visible (plus `overscan` rows either side).
 *
 * @example
 * visibleRange({ count: 1000, rowHeight: 40, scrollTop: 400, viewport: 200, overscan: 2 }); // { start: 8, end: 17 }
 */
export function visibleRange(o: {
  count: number;
  rowHeight: number;
  scrollTop: number;
  viewport: number;
  overscan: number;
}): { start: number; end: number } {
  if (o.count <= 0 || o.rowHeight <= 0) return { start: 0, end: 0 };
  const first = Math.floor(Math.max(0, o.scrollTop) / o.rowHeight);
  const visible = Math.ceil(Math.max(0, o.viewport) / o.rowHeight) + 1;
  const start = Math.max(0, first - o.overscan);
  const end = Math.min(o.count, first + visible + o.overscan);
  return { start: Math.min(start, end), end };
}

export interface VirtualListProps<T> {
  items: readonly T[];
  rowHeight: number;
  /** Height of the scroll area (CSS length); default fills the parent. */
  height?: string;
  overscan?: number;
  renderRow: (item: T, index: number) => ReactNode;
  getKey: (item: T, index: number) => string;
  /** Called when the last rows come into view (load the next page). */
  onEndReached?: () => void;
  label: string;
  /** Rows render as table rows (role=row) inside a role=rowgroup. */
  header?: ReactNode;
  className?: string;
}

/**
 * A windowed list: only the rows in view are in the DOM, so thousands of rows stay smooth.
 * Rows have a fixed height. Keyboard: the scroll area is focusable (arrow keys / Page keys scroll).
 *
 * @example
 * <VirtualList items={jobs} rowHeight={44} getKey={(j) => j.id} renderRow={(j) => <JobRow job={j} />} label="Jobs" />
 */
export function VirtualList<T>(props: VirtualListProps<T>) {
  const { items, rowHeight, overscan = 6 } = props;
  const ref = useRef<HTMLElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(600);

  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const measure = () => setViewport(el.clientHeight || 600);
    measure();
    if (typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const onScroll = useCallback(() => {
    const el = ref.current;
    if (el) setScrollTop(el.scrollTop);
  }, []);

  const { start, end } = visibleRange({
    count: items.length,
    rowHeight,
    scrollTop,
    viewport,
    overscan,
  });

  const onEnd = props.onEndReached;
  useEffect(() => {
    if (onEnd && items.length > 0 && end >= items.length - overscan) onEnd();
  }, [end, items.length, onEnd, overscan]);

  const rows: ReactNode[] = [];
  for (let i = start; i < end; i++) {
    const item = items[i] as T;
    rows.push(
      <div
        key={props.getKey(item, i)}
        className="vrow"
        style={{ position: 'absolute', top: i * rowHeight, height: rowHeight, left: 0, right: 0 }}
      >
        {props.renderRow(item, i)}
      </div>,
    );
  }

  return (
    <section
      ref={ref}
      className={`vlist ${props.className ?? ''}`}
      style={{ height: props.height ?? '100%', overflowY: 'auto', position: 'relative' }}
      onScroll={onScroll}
      // biome-ignore lint/a11y/noNoninteractiveTabindex: the scroll area must be reachable by keyboard
      tabIndex={0}
      aria-label={props.label}
      data-count={items.length}
    >
      {props.header}
      <div style={{ height: items.length * rowHeight, position: 'relative' }}>{rows}</div>
    </section>
  );
}
