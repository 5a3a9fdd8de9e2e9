import { describe, expect, it } from 'vitest';
import { LineSplitter } from './line-splitter.js';

function split(chunks: (string | Buffer)[], max?: number): string[] {
  const lines: string[] = [];
  const splitter = new LineSplitter((l) => lines.push(l), max);
  for (const c of chunks) splitter.push(c);
  splitter.end();
  return lines;
}

describe('LineSplitter', () => {
  it('splits on \\n, \\r\\n and a lone \\r (progress bars), across chunks', () => {
    expect(split(['a\nb\r', '\nc\r50%\r100%\n', 'tail'])).toEqual([
      'a',
      'b',
      'c',
      '50%',
      '100%',
      'tail',
    ]);
  });

  it('keeps a UTF-8 character split between chunks whole', () => {
    const bytes = Buffer.from('é\n');
    expect(split([bytes.subarray(0, 1), bytes.subarray(1)])).toEqual(['é']);
  });

  it('cuts lines that never end at the maximum length', () => {
    expect(split(['x'.repeat(10)], 4)).toEqual(['xxxx', 'xxxx', 'xx']);
    expect(split(['abcdefghij\n'], 4)).toEqual(['abcd', 'efgh', 'ij']);
  });

  it('drops blank lines', () => {
    expect(split(['\n\n  \nx\n'])).toEqual(['x']);
  });
});
