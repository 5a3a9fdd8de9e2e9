import { describe, expect, it } from 'vitest';
import { parseComfyArgs } from './cli-args.js';
import { parseModelSpec } from './model-spec.js';

describe('parseComfyArgs', () => {
  it('reads the flags a supervisor passes to main.py', () => {
    const parsed = parseComfyArgs([
      '--listen',
      '127.0.0.1',
      '--port',
      '8190',
      '--cpu',
      '--cuda-device',
      '1',
      '--output-directory',
      '/o',
      '--temp-directory',
      '/t',
      '--max-upload-size',
      '50',
      '--disable-auto-launch',
      '--preview-method',
      'auto',
      '--speed',
      'Infinity',
      '--models',
      'checkpoints=a.safetensors,b.safetensors;loras=x.safetensors',
      '--node-packs',
      'remove-background',
      '--version-string',
      '0.3.10',
    ]);
    expect(parsed.errors).toEqual([]);
    expect(parsed.options).toMatchObject({
      host: '127.0.0.1',
      port: 8190,
      cpu: true,
      outputDirectory: '/o',
      tempDirectory: '/t',
      maxUploadSizeMb: 50,
      speed: Number.POSITIVE_INFINITY,
      models: { checkpoints: ['a.safetensors', 'b.safetensors'], loras: ['x.safetensors'] },
      nodePacks: ['remove-background'],
      version: '0.3.10',
    });
    expect(parsed.previewMethod).toBe('auto');
    expect(parsed.options.argv?.[0]).toBe('main.py');
  });

  it('treats a bare --listen as all addresses and tolerates unknown flags', () => {
    const parsed = parseComfyArgs([
      '--listen',
      '--port',
      '1',
      '--some-new-flag',
      'v',
      '--quick-test-for-ci',
    ]);
    expect(parsed.options.host).toBe('0.0.0.0');
    expect(parsed.options.port).toBe(1);
    expect(parsed.quickTest).toBe(true);
    expect(parsed.warnings).toEqual(['ignoring unknown flag --some-new-flag']);
  });

  it('collects several --extra-model-paths-config values', () => {
    const parsed = parseComfyArgs(['--extra-model-paths-config', 'a.yaml', 'b.yaml', '--cpu']);
    expect(parsed.extraModelPathConfigs).toEqual(['a.yaml', 'b.yaml']);
  });

  it('reports unusable values clearly', () => {
    const parsed = parseComfyArgs(['--port', 'abc', '--speed', '0', '--models', 'nonsense']);
    expect(parsed.errors).toEqual([
      '--port: invalid port "abc"',
      '--speed: expected a number > 0 or Infinity, got "0"',
      expect.stringContaining('--models: "nonsense" is not folder=file'),
    ]);
    expect(parseComfyArgs(['--port']).errors).toEqual(['--port expects a value']);
  });
});

describe('parseModelSpec', () => {
  it('merges repeated folders and ignores blanks', () => {
    expect(parseModelSpec('loras=a; loras = b ,c ;')).toEqual({ loras: ['a', 'b', 'c'] });
  });
});
