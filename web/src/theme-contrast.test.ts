import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// import.meta.url as a string: under jsdom the global URL is jsdom's, which node:fs does not take.
const css = readFileSync(
  path.join(path.dirname(fileURLToPath(import.meta.url)), 'styles.css'),
  'utf8',
);

// WCAG 2 contrast of every text/background pair the stylesheet uses, in both themes.

function themeVars(selector: string): Record<string, string> {
  const start = css.indexOf(selector);
  const block = css.slice(css.indexOf('{', start) + 1, css.indexOf('}', start));
  const vars: Record<string, string> = {};
  for (const m of block.matchAll(/--([\w-]+):\s*(#[0-9a-f]{6})\s*;/gi)) vars[m[1]!] = m[2]!;
  return vars;
}

function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = Number.parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
}

function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}

// [foreground, background]: body text, hints, links, badges, notices, buttons.
const PAIRS: Array<[string, string]> = [
  ['text', 'bg'],
  ['text', 'surface'],
  ['text', 'surface-2'],
  ['muted', 'bg'],
  ['muted', 'surface'],
  ['muted', 'surface-2'],
  ['accent', 'surface'],
  ['accent', 'bg'],
  ['accent-text', 'accent'],
  ['ok', 'ok-bg'],
  ['warn', 'warn-bg'],
  ['bad', 'bad-bg'],
  ['info', 'info-bg'],
  ['neutral', 'neutral-bg'],
  ['bad', 'surface'],
  ['ok', 'surface'],
  ['text', 'ok-bg'],
  ['text', 'warn-bg'],
  ['text', 'bad-bg'],
  ['text', 'info-bg'],
  ['surface', 'bad'],
];

describe.each([
  ['light', '[data-theme="light"]'],
  ['dark', '[data-theme="dark"]'],
])('%s theme', (_name, selector) => {
  const vars = themeVars(selector);

  it('defines every colour the pairs use', () => {
    for (const [fg, bg] of PAIRS) {
      expect(vars[fg], fg).toMatch(/^#/);
      expect(vars[bg], bg).toMatch(/^#/);
    }
  });

  it.each(PAIRS)('%s on %s has at least 4.5:1', (fg, bg) => {
    expect(contrast(vars[fg]!, vars[bg]!)).toBeGreaterThanOrEqual(4.5);
  });
});
