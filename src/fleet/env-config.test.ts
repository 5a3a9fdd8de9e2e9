import { describe, expect, it } from 'vitest';
import { defaultInstance, instancesFromEnv } from './env-config.js';

const now = '2025-06-01T12:00:00.000Z';
const read = (env: Record<string, string>) => instancesFromEnv(env, { now });
const addresses = (env: Record<string, string>) =>
  read(env).instances.map((i) => `${i.name}@${i.host}:${i.port}`);

// The user's NUKE_COMFYUI_SERVERS example (seed), as users export it: a multi-line JSON array.
const NUKE_SEED = `[
  {
    "name": "primary",
    "ip": "192.168.1.187",
    "port": 8188,
    "dir_local": "U:/",
    "dir_remote": "/home/kmmuser/ComfyUI/",
    "priority": 1,
    "enabled": true
  },
  {
    "name": "secondary",
    "ip": "192.168.1.188",
    "port": 8188,
    "dir_local": "U:/",
    "dir_remote": "/home/kmmuser/ComfyUI/",
    "priority": 2,
    "enabled": true
  }
]`;

describe('instancesFromEnv', () => {
  it('nothing configured: no env instances and no warnings (the registry adds 127.0.0.1:8188)', () => {
    expect(read({ PATH: '/usr/bin' })).toEqual({ instances: [], origins: {}, warnings: [] });
    expect(defaultInstance(now)).toMatchObject({
      name: 'default',
      host: '127.0.0.1',
      port: 8188,
      source: 'env',
    });
  });

  it('NUKE_COMFYUI_SERVERS in the seed shape: ip, port, path map, priority, enabled', () => {
    const r = read({ NUKE_COMFYUI_SERVERS: NUKE_SEED });
    expect(r.warnings).toEqual([]);
    expect(r.instances).toHaveLength(2);
    expect(r.instances[0]).toMatchObject({
      id: 'env-192.168.1.187-8188',
      name: 'primary',
      host: '192.168.1.187',
      port: 8188,
      path_map: [{ local: 'U:/', remote: '/home/kmmuser/ComfyUI/' }],
      priority: 1,
      enabled: true,
      source: 'env',
      kind: 'remote',
    });
    expect(r.instances[1]).toMatchObject({ name: 'secondary', host: '192.168.1.188', priority: 2 });
    expect(r.origins).toEqual({
      'env-192.168.1.187-8188': 'NUKE_COMFYUI_SERVERS[0]',
      'env-192.168.1.188-8188': 'NUKE_COMFYUI_SERVERS[1]',
    });
  });

  it('NUKE_COMFYUI_SERVERS: string ports work, unknown keys and bad entries are named', () => {
    const r = read({
      NUKE_COMFYUI_SERVERS: JSON.stringify([
        { name: 'a', ip: '10.0.0.1', port: '8189', gpu: 'x' },
        { name: 'b', port: 8188 },
        { name: 'c', ip: '10.0.0.3', enabled: 'yes' },
        'not an object',
      ]),
    });
    expect(r.instances.map((i) => `${i.name}@${i.host}:${i.port}`)).toEqual(['a@10.0.0.1:8189']);
    expect(r.warnings.map((w) => w.message)).toEqual([
      'NUKE_COMFYUI_SERVERS[0].gpu is not a known field (known: name, ip, port, dir_local, dir_remote, priority, enabled); ignored',
      'NUKE_COMFYUI_SERVERS[3] must be an object like {"name":"primary","ip":"10.0.0.5","port":8188}; skipped',
      'NUKE_COMFYUI_SERVERS[1].ip is required; skipped',
      'NUKE_COMFYUI_SERVERS[2].enabled must be true or false, got "yes" (a string); skipped',
    ]);
  });

  it('NUKE_COMFYUI_SERVERS set: the single-server variables are ignored with a warning', () => {
    const r = read({ NUKE_COMFYUI_SERVERS: NUKE_SEED, NUKE_COMFYUI_IP: '10.9.9.9' });
    expect(r.instances.map((i) => i.host)).toEqual(['192.168.1.187', '192.168.1.188']);
    expect(r.warnings).toEqual([
      expect.objectContaining({ code: 'ignored_variable', source: 'NUKE_COMFYUI_IP' }),
    ]);
  });

  it('COMFYUI_SERVERS: host:port strings, URLs, instance objects and NUKE-style objects', () => {
    const r = read({
      COMFYUI_SERVERS: JSON.stringify([
        'localhost:8188',
        'https://gpu.example',
        { name: 'gpu3', host: '10.0.0.3', port: 8190, tags: ['sdxl'], max_concurrent: 2 },
        { name: 'nuke', ip: '10.0.0.4', dir_local: 'U:/', dir_remote: '/srv/comfy/' },
      ]),
    });
    expect(r.warnings).toEqual([]);
    expect(r.instances.map((i) => `${i.name}@${i.host}:${i.port}/${i.tls}`)).toEqual([
      'localhost:8188@localhost:8188/false',
      'gpu.example:443@gpu.example:443/true',
      'gpu3@10.0.0.3:8190/false',
      'nuke@10.0.0.4:8188/false',
    ]);
    expect(r.instances[2]).toMatchObject({ tags: ['sdxl'], max_concurrent: 2 });
    expect(r.instances[3]?.path_map).toEqual([{ local: 'U:/', remote: '/srv/comfy/' }]);
  });

  it('COMFYUI_SERVERS: an invalid entry is skipped with the field and the fix', () => {
    const r = read({
      COMFYUI_SERVERS:
        '["10.0.0.1:8188", {"host": "10.0.0.2", "port": 70000, "maxConcurrent": 2}, 7]',
    });
    expect(r.instances.map((i) => i.host)).toEqual(['10.0.0.1']);
    expect(r.warnings.map((w) => w.message)).toEqual([
      'COMFYUI_SERVERS[2] must be "host:port" or an object like {"host":"10.0.0.5","port":8188}; skipped',
      "COMFYUI_SERVERS[1].port must be between 1 and 65535, got 70000; COMFYUI_SERVERS[1].maxConcurrent unknown field; did you mean 'max_concurrent'?; skipped",
    ]);
  });

  it('COMFYUI_HOST_1..N in numeric order, gaps allowed, bad ones named, duplicates dropped', () => {
    const r = read({
      COMFYUI_HOST_10: 'gpu10.lan:8188',
      COMFYUI_HOST_2: 'localhost:8189',
      COMFYUI_HOST_1: 'localhost:8188',
      COMFYUI_HOST_5: 'gpu5.lan',
      COMFYUI_HOST_6: 'gpu6.lan:0',
      COMFYUI_HOST_7: '127.0.0.1:8188',
      COMFYUI_HOST_8: '',
    });
    expect(r.instances.map((i) => `${i.host}:${i.port}`)).toEqual([
      'localhost:8188',
      'localhost:8189',
      'gpu5.lan:8188',
      'gpu10.lan:8188',
    ]);
    expect(Object.values(r.origins)).toEqual([
      'COMFYUI_HOST_1',
      'COMFYUI_HOST_2',
      'COMFYUI_HOST_5',
      'COMFYUI_HOST_10',
    ]);
    expect(r.warnings).toEqual([
      {
        code: 'invalid_value',
        source: 'COMFYUI_HOST_6',
        message:
          'COMFYUI_HOST_6="gpu6.lan:0" is not usable: port \'0\' is not a number between 1 and 65535 (expected host:port like 10.0.0.5:8188); skipped',
      },
      {
        code: 'duplicate_instance',
        source: 'COMFYUI_HOST_7',
        message: 'COMFYUI_HOST_7 (127.0.0.1:8188) is the same server as COMFYUI_HOST_1; ignored',
      },
    ]);
  });

  it('single-server NUKE_COMFYUI_IP / PORT / DIR_LOCAL / DIR_REMOTE', () => {
    const r = read({
      NUKE_COMFYUI_IP: '192.168.1.187',
      NUKE_COMFYUI_PORT: '8189',
      NUKE_COMFYUI_DIR_LOCAL: 'U:/',
      NUKE_COMFYUI_DIR_REMOTE: '/home/kmmuser/ComfyUI/',
    });
    expect(r.warnings).toEqual([]);
    expect(r.instances).toEqual([
      expect.objectContaining({
        name: 'default',
        host: '192.168.1.187',
        port: 8189,
        path_map: [{ local: 'U:/', remote: '/home/kmmuser/ComfyUI/' }],
      }),
    ]);
    expect(r.origins).toEqual({ 'env-192.168.1.187-8189': 'NUKE_COMFYUI_IP' });
  });

  it('single-server values that do not parse are named, and defaults are used', () => {
    const r = read({
      NUKE_COMFYUI_IP: '192.168.1.187:8188',
      NUKE_COMFYUI_PORT: 'eighty',
      NUKE_COMFYUI_DIR_LOCAL: 'U:/',
    });
    expect(addresses({ NUKE_COMFYUI_PORT: '8190' })).toEqual(['default@127.0.0.1:8190']);
    expect(r.instances.map((i) => `${i.host}:${i.port}`)).toEqual(['127.0.0.1:8188']);
    expect(r.warnings.map((w) => w.source)).toEqual([
      'NUKE_COMFYUI_IP',
      'NUKE_COMFYUI_PORT',
      'NUKE_COMFYUI_DIR_LOCAL',
    ]);
    expect(r.warnings[0]?.message).toContain(
      'give only the host and put the port in NUKE_COMFYUI_PORT',
    );
  });

  it('invalid JSON: the warning names the variable, the position and what was expected, then falls back', () => {
    const broken = '[\n  {"name": "primary", "ip": "192.168.1.187", "port": 8188,}\n]';
    const r = read({
      NUKE_COMFYUI_SERVERS: broken,
      NUKE_COMFYUI_IP: '192.168.1.50',
      NUKE_COMFYUI_PORT: '8188',
    });
    expect(r.instances.map((i) => `${i.name}@${i.host}:${i.port}`)).toEqual([
      'default@192.168.1.50:8188',
    ]);
    expect(r.warnings).toHaveLength(1);
    const w = r.warnings[0];
    expect(w).toMatchObject({
      code: 'invalid_json',
      source: 'NUKE_COMFYUI_SERVERS',
      position: { offset: 60, line: 2, column: 59 },
    });
    expect(w?.message).toContain(
      'NUKE_COMFYUI_SERVERS is not valid JSON at line 2, column 59 (offset 60)',
    );
    expect(w?.message).toContain('remove the trailing comma');
    expect(w?.message).toContain(
      'Expected a JSON array of servers, e.g. [{"name":"primary","ip":"10.0.0.5"',
    );
    expect(w?.message).toContain('Falling back to the single-server values');
  });

  it('invalid JSON with no single-server variables falls back to 127.0.0.1:8188', () => {
    const r = read({ COMFYUI_SERVERS: "['localhost:8188']" });
    expect(addresses({ COMFYUI_SERVERS: "['localhost:8188']" })).toEqual([
      'default@127.0.0.1:8188',
    ]);
    expect(r.warnings[0]).toMatchObject({
      code: 'invalid_json',
      source: 'COMFYUI_SERVERS',
      position: { offset: 1 },
    });
    expect(r.warnings[0]?.message).toContain('(127.0.0.1:8188, as no NUKE_COMFYUI_IP/PORT is set)');
  });

  it('JSON that is not an array is refused the same way', () => {
    const r = read({ COMFYUI_SERVERS: '{"host": "a"}' });
    expect(r.warnings[0]?.message).toContain('COMFYUI_SERVERS is JSON but an object, not an array');
    expect(r.instances.map((i) => i.host)).toEqual(['127.0.0.1']);
  });

  it('all forms together, in order, without duplicates', () => {
    expect(
      addresses({
        COMFYUI_SERVERS: '["10.0.0.1:8188"]',
        NUKE_COMFYUI_SERVERS: '[{"name":"n","ip":"10.0.0.2","port":8188}]',
        COMFYUI_HOST_1: '10.0.0.3:8188',
        COMFYUI_HOST_2: '10.0.0.1:8188',
      }),
    ).toEqual(['10.0.0.1:8188@10.0.0.1:8188', 'n@10.0.0.2:8188', '10.0.0.3:8188@10.0.0.3:8188']);
  });

  it('same name twice gets a suffix and a warning; ids stay stable across reads', () => {
    const env = {
      COMFYUI_SERVERS: '[{"name":"gpu","host":"10.0.0.1"},{"name":"gpu","host":"10.0.0.2"}]',
    };
    const r = read(env);
    expect(r.instances.map((i) => i.name)).toEqual(['gpu', 'gpu-2']);
    expect(r.warnings[0]?.message).toContain("this server is named 'gpu-2'");
    expect(read(env).instances.map((i) => i.id)).toEqual(r.instances.map((i) => i.id));
  });
});
