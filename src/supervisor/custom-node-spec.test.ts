import { describe, expect, it } from 'vitest';
import {
  CustomNodeSpecError,
  parseCustomNodeList,
  parseCustomNodeSpec,
} from './custom-node-spec.js';

describe('parseCustomNodeSpec', () => {
  it.each([
    [
      'https://github.com/ltdrdata/ComfyUI-Impact-Pack.git',
      {
        name: 'ComfyUI-Impact-Pack',
        url: 'https://github.com/ltdrdata/ComfyUI-Impact-Pack.git',
        ref: null,
      },
    ],
    [
      'https://github.com/cubiq/ComfyUI_essentials@v1.1.0',
      {
        name: 'ComfyUI_essentials',
        url: 'https://github.com/cubiq/ComfyUI_essentials',
        ref: 'v1.1.0',
      },
    ],
    [
      'git@github.com:kijai/ComfyUI-KJNodes.git#main',
      { name: 'ComfyUI-KJNodes', url: 'git@github.com:kijai/ComfyUI-KJNodes.git', ref: 'main' },
    ],
    [
      'git@github.com:kijai/ComfyUI-KJNodes.git@0123abc',
      { name: 'ComfyUI-KJNodes', url: 'git@github.com:kijai/ComfyUI-KJNodes.git', ref: '0123abc' },
    ],
    ['/srv/git/my-nodes', { name: 'my-nodes', url: '/srv/git/my-nodes', ref: null }],
    [
      'file:///srv/git/my-nodes.git@dev',
      { name: 'my-nodes', url: 'file:///srv/git/my-nodes.git', ref: 'dev' },
    ],
    [
      'Fannovel16/comfyui_controlnet_aux@1.0.7',
      {
        name: 'comfyui_controlnet_aux',
        url: 'https://github.com/Fannovel16/comfyui_controlnet_aux',
        ref: '1.0.7',
      },
    ],
  ])('reads %s', (spec, expected) => {
    expect(parseCustomNodeSpec(spec)).toEqual({ ...expected, spec });
  });

  it('resolves owner/repo against a base URL', () => {
    expect(parseCustomNodeSpec('me/nodes', { baseUrl: 'file:///tmp/repos' }).url).toBe(
      'file:///tmp/repos/me/nodes',
    );
  });

  it.each([
    ['', /empty entry/],
    ['impact-pack', /give a git URL .* or owner\/repo/],
    ['--upload-pack=evil', /must not start with "-"/],
    ['a/b@-x', /not a usable git ref/],
    ['a/b@one two', /whitespace/],
    ['https://example.com/', /cannot derive a folder name/],
  ])('rejects %j', (spec, message) => {
    expect(() => parseCustomNodeSpec(spec)).toThrow(CustomNodeSpecError);
    expect(() => parseCustomNodeSpec(spec)).toThrow(message);
  });
});

describe('parseCustomNodeList', () => {
  it('reads commas and lines, skips comments, names bad entries by position', () => {
    const list = parseCustomNodeList(
      '# my packs\na/one, b/two\n\nbare-name\nc/one@v2\n',
      'nodes.txt',
    );
    expect(list.specs.map((s) => s.spec)).toEqual(['a/one', 'b/two']);
    expect(list.errors).toEqual([
      'nodes.txt entry 3 ("bare-name") ignored: cannot tell where it lives: give a git URL (https://…/repo.git) or owner/repo',
      'nodes.txt entry 4 ("c/one@v2") ignored: folder "one" already comes from "a/one"',
    ]);
  });
});
