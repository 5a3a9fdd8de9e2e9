import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { describeProgress, ProgressDisplay } from './progress.js';

/** A stream that keeps what is written; `tty` makes it look like a terminal. */
function sink(tty: boolean): NodeJS.WriteStream & { text(): string } {
  let text = '';
  const stream = new Writable({
    write(chunk, _enc, done) {
      text += chunk.toString();
      done();
    },
  }) as unknown as NodeJS.WriteStream & { text(): string };
  Object.assign(stream, { isTTY: tty, columns: 120, text: () => text });
  return stream;
}

describe('describeProgress', () => {
  it('names the phase, percent, node with its class, step and instance', () => {
    expect(
      describeProgress({
        status: 'processing',
        phase: 'running',
        percent: 40.4,
        node: '3',
        nodeClass: 'KSampler',
        step: 8,
        steps: 20,
        instance: 'gpu-1',
      }),
    ).toBe('running 40% · node 3 KSampler · step 8/20 · on gpu-1');
    expect(describeProgress({ status: 'pending' })).toBe('pending');
    expect(
      describeProgress({
        status: 'failed',
        instance: 'gpu-1',
        error: 'node 2 (X): boom',
        node: '2',
      }),
    ).toBe('failed · on gpu-1 · node 2 (X): boom');
  });
});

describe('ProgressDisplay off a terminal', () => {
  it('prints one plain line per change; percent and step ticks at most once a second', () => {
    const out = sink(false);
    let now = 0;
    const display = new ProgressDisplay({ stream: out, now: () => now });
    expect(display.tty).toBe(false);
    display.add('a', 'a.json');
    display.update('a', { status: 'processing', phase: 'running', instance: 'gpu-1' });
    display.update('a', { node: '3', nodeClass: 'KSampler', step: 1, steps: 20, percent: 5 });
    now = 200;
    display.update('a', { step: 2, percent: 10 }); // throttled
    now = 1300;
    display.update('a', { step: 9, percent: 45 });
    display.update('a', { node: '4', nodeClass: 'VAEDecode', step: null, steps: null }); // new node
    display.update('a', { status: 'completed' });
    display.stop();
    expect(out.text().split('\n')).toEqual([
      'a.json: pending',
      'a.json: running · on gpu-1',
      'a.json: running 5% · node 3 KSampler · step 1/20 · on gpu-1',
      'a.json: running 45% · node 3 KSampler · step 9/20 · on gpu-1',
      'a.json: running 45% · node 4 VAEDecode · on gpu-1',
      'a.json: completed · on gpu-1',
      '',
    ]);
  });
});

describe('ProgressDisplay on a terminal', () => {
  it('draws one bar per job with its percent, node, step and instance', () => {
    const out = sink(true);
    const display = new ProgressDisplay({ stream: out });
    expect(display.tty).toBe(true);
    display.add('a', 'a.json');
    display.add('b', 'long-name.json');
    display.update('a', {
      status: 'processing',
      phase: 'running',
      percent: 50,
      node: '3',
      nodeClass: 'KSampler',
      step: 10,
      steps: 20,
      instance: 'gpu-1',
    });
    display.update('b', { status: 'completed', instance: 'gpu-2' });
    display.stop();
    const text = out.text();
    // The last frame: both bars, labels padded to one width, bar percent not repeated.
    expect(text).toContain(
      'a.json         ████████████░░░░░░░░░░░░  50% | running · node 3 KSampler · step 10/20 · on gpu-1',
    );
    expect(text).toContain('long-name.json ████████████████████████ 100% | completed · on gpu-2');
  });
});
