/**
 * `str(tensor)` the way PyTorch prints a float32 CPU tensor (precision 4, summarised with "..."
 * beyond 1000 elements, 3 edge items, 80-column lines). ComfyUI puts this text into the
 * `current_inputs` of an `execution_error`, so an emulated error looks like a real one.
 */
import type { Tensor } from './tensor.js';

const THRESHOLD = 1000;
const EDGE = 3;
const LINE_WIDTH = 80;
const PRECISION = 4;

interface Formatter {
  width: number;
  format(v: number): string;
}

function sciString(v: number, width = 0): string {
  if (!Number.isFinite(v)) return pad(nonFinite(v), width);
  // Python writes at least two exponent digits: 1.0000e-05, JS writes 1.0000e-5.
  const s = v.toExponential(PRECISION).replace(/e([+-])(\d)$/, 'e$10$2');
  return pad(s, width);
}

function nonFinite(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  return v > 0 ? 'inf' : '-inf';
}

function pad(s: string, width: number): string {
  return s.length >= width ? s : ' '.repeat(width - s.length) + s;
}

function fixed(v: number, digits: number): string {
  if (!Number.isFinite(v)) return nonFinite(v);
  const s = v.toFixed(digits);
  // Python keeps the sign of negative zero ("-0.0000"); toFixed drops it.
  return Object.is(v, -0) || (v < 0 && !s.startsWith('-')) ? `-${s}` : s;
}

function makeFormatter(values: number[]): Formatter {
  const finite = values.filter((v) => Number.isFinite(v) && v !== 0);
  if (finite.length === 0) {
    return { width: 1, format: (v) => pad(intString(v), 1) };
  }
  let min = Number.POSITIVE_INFINITY;
  let max = 0;
  let intMode = true;
  for (const v of finite) {
    const a = Math.abs(v);
    if (a < min) min = a;
    if (a > max) max = a;
    if (v !== Math.ceil(v)) intMode = false;
  }
  let width = 1;
  if (intMode) {
    if (max / min > 1000 || max > 1e8) {
      for (const v of finite) width = Math.max(width, sciString(v).length);
      return { width, format: (v) => sciString(v, width) };
    }
    for (const v of finite) width = Math.max(width, fixed(v, 0).length + 1);
    return { width, format: (v) => pad(intString(v), width) };
  }
  if (max / min > 1000 || max > 1e8 || min < 1e-4) {
    for (const v of finite) width = Math.max(width, sciString(v).length);
    return { width, format: (v) => sciString(v, width) };
  }
  for (const v of finite) width = Math.max(width, fixed(v, PRECISION).length);
  return { width, format: (v) => pad(fixed(v, PRECISION), width) };
}

function intString(v: number): string {
  const s = fixed(v, 0);
  return Number.isFinite(v) ? `${s}.` : s;
}

/** Index lists per dimension, with -1 standing for the "..." gap when summarising. */
function indices(size: number, summarize: boolean): number[] {
  if (summarize && size > 2 * EDGE) {
    const out: number[] = [];
    for (let i = 0; i < EDGE; i++) out.push(i);
    out.push(-1);
    for (let i = size - EDGE; i < size; i++) out.push(i);
    return out;
  }
  return Array.from({ length: size }, (_, i) => i);
}

function collect(t: Tensor, dim: number, offset: number, summarize: boolean, out: number[]): void {
  const size = t.shape[dim] ?? 1;
  const stride = strideOf(t, dim);
  for (const i of indices(size, summarize)) {
    if (i < 0) continue;
    if (dim === t.rank - 1) out.push(t.data[offset + i] ?? 0);
    else collect(t, dim + 1, offset + i * stride, summarize, out);
  }
}

function strideOf(t: Tensor, dim: number): number {
  let s = 1;
  for (let d = dim + 1; d < t.rank; d++) s *= t.shape[d] ?? 1;
  return s;
}

function render(
  t: Tensor,
  dim: number,
  offset: number,
  indent: number,
  summarize: boolean,
  f: Formatter,
): string {
  const size = t.shape[dim] ?? 1;
  const stride = strideOf(t, dim);
  if (dim === t.rank - 1) {
    const perLine = Math.max(1, Math.floor((LINE_WIDTH - indent) / (f.width + 2)));
    const items = indices(size, summarize).map((i) =>
      i < 0 ? ' ...' : f.format(t.data[offset + i] ?? 0),
    );
    const lines: string[] = [];
    for (let i = 0; i < items.length; i += perLine)
      lines.push(items.slice(i, i + perLine).join(', '));
    return `[${lines.join(`,\n${' '.repeat(indent + 1)}`)}]`;
  }
  const rest = t.rank - dim;
  const parts = indices(size, summarize).map((i) =>
    i < 0 ? '...' : render(t, dim + 1, offset + i * stride, indent + 1, summarize, f),
  );
  return `[${parts.join(`,${'\n'.repeat(rest - 1)}${' '.repeat(indent + 1)}`)}]`;
}

/**
 * Formats a tensor like `str(torch_tensor)`.
 *
 * @example
 * formatTensor(new Tensor([2], new Float32Array([0, 0.5]))); // "tensor([0.0000, 0.5000])"
 */
export function formatTensor(t: Tensor): string {
  if (t.size === 0) {
    return t.rank === 1 ? 'tensor([])' : `tensor([], size=(${t.shape.join(', ')}))`;
  }
  if (t.rank === 0) {
    return `tensor(${makeFormatter([t.data[0] ?? 0])
      .format(t.data[0] ?? 0)
      .trim()})`;
  }
  const summarize = t.size > THRESHOLD;
  const values: number[] = [];
  collect(t, 0, 0, summarize, values);
  const f = makeFormatter(values);
  return `tensor(${render(t, 0, 0, 'tensor('.length, summarize, f)})`;
}
