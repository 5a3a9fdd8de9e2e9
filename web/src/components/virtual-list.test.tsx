import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualList, visibleRange } from './virtual-list.js';

afterEach(cleanup);

describe('visibleRange', () => {
  it('covers the viewport plus overscan, clamped to the list', () => {
    expect(
      visibleRange({ count: 1000, rowHeight: 40, scrollTop: 400, viewport: 200, overscan: 2 }),
    ).toEqual({
      start: 8,
      end: 18,
    });
    expect(
      visibleRange({ count: 1000, rowHeight: 40, scrollTop: 0, viewport: 200, overscan: 5 }),
    ).toEqual({
      start: 0,
      end: 11,
    });
    expect(
      visibleRange({ count: 3, rowHeight: 40, scrollTop: 0, viewport: 800, overscan: 5 }),
    ).toEqual({
      start: 0,
      end: 3,
    });
    expect(
      visibleRange({ count: 10, rowHeight: 40, scrollTop: 99999, viewport: 200, overscan: 2 }),
    ).toEqual({
      start: 10,
      end: 10,
    });
    expect(
      visibleRange({ count: 0, rowHeight: 40, scrollTop: 0, viewport: 200, overscan: 2 }),
    ).toEqual({
      start: 0,
      end: 0,
    });
  });
});

describe('VirtualList', () => {
  const items = Array.from({ length: 5000 }, (_, i) => `job-${i}`);

  it('renders only the rows in view out of thousands, and follows scrolling', () => {
    let ends = 0;
    render(
      <VirtualList
        label="Jobs"
        items={items}
        rowHeight={40}
        overscan={3}
        getKey={(s) => s}
        renderRow={(s) => <span>{s}</span>}
        onEndReached={() => ends++}
      />,
    );
    const region = screen.getByRole('region', { name: 'Jobs' });
    // jsdom has no layout: the list assumes a 600 px viewport (15 rows) until measured.
    const shown = () => [...region.querySelectorAll('.vrow')].map((r) => r.textContent);
    expect(shown().length).toBeLessThan(30);
    expect(shown()[0]).toBe('job-0');
    (region.firstElementChild as HTMLElement | null)?.getBoundingClientRect();
    expect((region.lastElementChild as HTMLElement).style.height).toBe(`${5000 * 40}px`);

    region.scrollTop = 40_000; // row 1000
    fireEvent.scroll(region);
    expect(shown()).toContain('job-1000');
    expect(shown()).not.toContain('job-0');
    expect(shown().length).toBeLessThan(30);
    expect(ends).toBe(0);

    region.scrollTop = 5000 * 40 - 600;
    fireEvent.scroll(region);
    expect(shown()).toContain('job-4999');
    expect(ends).toBe(1);
  });

  it('is reachable by keyboard and named', () => {
    render(
      <VirtualList
        label="Instances"
        items={['a']}
        rowHeight={40}
        getKey={(s) => s}
        renderRow={(s) => s}
      />,
    );
    const region = screen.getByRole('region', { name: 'Instances' });
    expect(region.tabIndex).toBe(0);
  });
});
