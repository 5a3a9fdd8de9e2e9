import { describe, expect, it } from 'vitest';
import type { ApiPrompt } from '../comfy/protocol.js';
import { ExecutionList } from './execution-list.js';

function order(prompt: ApiPrompt, outputs: string[], cached: string[] = []): string[] {
  const isOutput = (id: string) => prompt[id]?.class_type === 'SaveImage';
  const list = new ExecutionList(prompt, (id) => cached.includes(id), isOutput);
  for (const o of outputs) list.addNode(o);
  const out: string[] = [];
  for (let i = 0; i < 100 && !list.isEmpty(); i++) {
    const id = list.stage();
    if (id === undefined) break;
    out.push(id);
    list.complete(id);
  }
  return out;
}

describe('ExecutionList', () => {
  const lsi: ApiPrompt = {
    '1': { class_type: 'LoadImage', inputs: { image: 'x.png' } },
    '2': { class_type: 'ImageScaleBy', inputs: { image: ['1', 0], scale_by: 2 } },
    '3': { class_type: 'ImageInvert', inputs: { image: ['2', 0] } },
    '4': { class_type: 'SaveImage', inputs: { images: ['3', 0], filename_prefix: 'p' } },
  };

  it('runs ancestors first, in the recorded order', () => {
    expect(order(lsi, ['4'])).toEqual(['1', '2', '3', '4']);
  });

  it('skips cached ancestors but still runs the output node', () => {
    expect(order(lsi, ['4'], ['1'])).toEqual(['2', '3', '4']);
    expect(order(lsi, ['4'], ['1', '2', '3', '4'])).toEqual(['4']);
  });

  it('prefers output nodes and what feeds them', () => {
    const prompt: ApiPrompt = {
      a: { class_type: 'EmptyImage', inputs: {} },
      b: { class_type: 'EmptyImage', inputs: {} },
      s1: { class_type: 'SaveImage', inputs: { images: ['a', 0] } },
      mid: { class_type: 'ImageInvert', inputs: { image: ['b', 0] } },
      s2: { class_type: 'SaveImage', inputs: { images: ['mid', 0] } },
    };
    // a feeds an output directly, so it goes first; s1 is then ready and is an output.
    expect(order(prompt, ['s1', 's2'])).toEqual(['a', 's1', 'b', 'mid', 's2']);
  });
});
