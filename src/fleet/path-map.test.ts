import { describe, expect, it } from 'vitest';
import { toLocalPath, toRemotePath } from './path-map.js';

const map = [
  { local: 'U:/', remote: '/home/kmmuser/ComfyUI/' },
  { local: 'U:/output/', remote: '/mnt/fast/output/' },
];

describe('path mapping', () => {
  it('maps the longest matching local prefix, accepting backslashes and any drive-letter case', () => {
    expect(toRemotePath('U:/input/a.exr', map)).toBe('/home/kmmuser/ComfyUI/input/a.exr');
    expect(toRemotePath('u:\\output\\b.png', map)).toBe('/mnt/fast/output/b.png');
  });

  it('maps back, and leaves unmapped paths alone', () => {
    expect(toLocalPath('/home/kmmuser/ComfyUI/output/x.png', map)).toBe('U:/output/x.png');
    expect(toLocalPath('/mnt/fast/output/y.png', map)).toBe('U:/output/y.png');
    expect(toRemotePath('C:/other/z.png', map)).toBe('C:/other/z.png');
    expect(toRemotePath('/home/x', [])).toBe('/home/x');
  });
});
