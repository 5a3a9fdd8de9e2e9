import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { watch } from './watch.js';

function sink(): NodeJS.WriteStream & { text(): string } {
  let text = '';
  const stream = new Writable({
    write(chunk, _enc, done) {
      text += chunk.toString();
      done();
    },
  }) as unknown as NodeJS.WriteStream & { text(): string };
  Object.assign(stream, { text: () => text });
  return stream;
}

describe('watch', () => {
  it('draws count frames; a failed render shows its one line and is returned when last', async () => {
    const out = sink();
    let n = 0;
    const failure = new Error('gateway gone');
    const last = await watch({
      render: async () => {
        n++;
        if (n === 2) throw failure;
        return `frame ${n}`;
      },
      describeError: (e) => `error: ${(e as Error).message}`,
      intervalMs: 1,
      count: 3,
      tty: false,
      header: false,
      stream: out,
    });
    expect(out.text()).toBe('frame 1\nerror: gateway gone\nframe 3\n');
    expect(last).toBeUndefined();
    const failing = await watch({
      render: async () => {
        throw failure;
      },
      describeError: () => 'down',
      intervalMs: 1,
      count: 1,
      tty: false,
      stream: sink(),
    });
    expect(failing).toBe(failure);
  });

  it('on a terminal each frame clears the screen under a time line', async () => {
    const out = sink();
    await watch({
      render: async () => 'table',
      describeError: String,
      intervalMs: 2000,
      count: 1,
      tty: true,
      stream: out,
    });
    const text = out.text();
    expect(text.startsWith('\u001b[H\u001b[2J')).toBe(true);
    expect(text.slice(7)).toMatch(
      /^every 2s · \d{4}-\d\d-\d\dT[\d:.]+Z · Ctrl-C to stop\n\ntable\n$/,
    );
  });
});
