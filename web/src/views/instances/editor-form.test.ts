import { describe, expect, it } from 'vitest';
import type { InstanceView } from '../../api/index.js';
import {
  emptyForm,
  fieldKeyForPath,
  formFromInstance,
  formToPayload,
  mapServerErrors,
} from './editor-form.js';

const existing: InstanceView = {
  id: 'gpu1',
  name: 'gpu1',
  description: '',
  host: '10.0.0.5',
  port: 8188,
  tls: false,
  auth: { type: 'bearer', redacted: true },
  kind: 'remote',
  gpu_device: null,
  env_vars: { CUDA_VISIBLE_DEVICES: '0' },
  custom_nodes_path: null,
  max_concurrent: 1,
  prefetch: 1,
  timeout_ms: 300000,
  priority: 1,
  tags: ['sdxl'],
  enabled: true,
  auto_start: false,
  path_map: [{ local: 'U:/', remote: '/srv/comfy/' }],
  created_at: '2026-01-01T00:00:00Z',
  last_used_at: null,
  source: 'api',
  status: 'running',
  status_reason: null,
  active: true,
  origin: null,
};

describe('formToPayload', () => {
  it('builds the create body with every field typed', () => {
    const f = {
      ...emptyForm(),
      name: ' box ',
      host: 'gpu.lan',
      port: '8189',
      tags: 'sdxl, fast sdxl',
      env_vars: [
        { key: 'A', value: '1' },
        { key: '', value: '' },
      ],
      path_map: [{ local: 'U:/', remote: '/x/' }],
      auth_type: 'basic' as const,
      auth_username: 'me',
      auth_password: 'pw',
      gpu_device: '1',
    };
    const { body, errors } = formToPayload(f, null);
    expect(errors).toEqual({});
    expect(body).toMatchObject({
      name: 'box',
      host: 'gpu.lan',
      port: 8189,
      tags: ['sdxl', 'fast'],
      env_vars: { A: '1' },
      path_map: [{ local: 'U:/', remote: '/x/' }],
      auth: { type: 'basic', username: 'me', password: 'pw' },
      gpu_device: '1',
      custom_nodes_path: null,
      max_concurrent: 1,
      timeout_ms: 300000,
    });
  });

  it('leaves ranges to the gateway but refuses what cannot be sent', () => {
    const { body, errors } = formToPayload(
      { ...emptyForm(), port: '70000', prefetch: 'two', host: 'http://gpu' },
      null,
    );
    expect((body as { port?: number }).port).toBe(70000);
    expect(errors.prefetch).toEqual(['must be a whole number']);
    expect(errors.host?.[0]).toMatch(/without http/);
    expect(errors.port).toBeUndefined();
  });

  it('keeps stored credentials when editing unless they are changed or removed', () => {
    const f = formFromInstance(existing);
    expect(f.env_vars).toEqual([{ key: 'CUDA_VISIBLE_DEVICES', value: '0' }]);
    expect('auth' in formToPayload(f, existing).body).toBe(false);
    expect(formToPayload({ ...f, auth_type: '' }, existing).body).toMatchObject({ auth: null });
    expect(
      formToPayload({ ...f, auth_changed: true, auth_token: 't2' }, existing).body,
    ).toMatchObject({ auth: { type: 'bearer', token: 't2' } });
    expect(formToPayload({ ...f, auth_changed: true }, existing).errors.auth_token).toEqual([
      'is required',
    ]);
  });

  it('flags duplicate and malformed environment variable names on their row', () => {
    const f = {
      ...emptyForm(),
      env_vars: [
        { key: 'A', value: '1' },
        { key: 'A', value: '2' },
        { key: '9X', value: '' },
      ],
    };
    const { errors } = formToPayload(f, null);
    expect(errors['env_vars.1']).toEqual(['A is given twice']);
    expect(errors['env_vars.2']?.[0]).toMatch(/letters, digits/);
  });
});

describe('server field errors → inputs', () => {
  const form = {
    ...emptyForm(),
    env_vars: [
      { key: 'A', value: '' },
      { key: 'BAD-NAME', value: '' },
    ],
  };

  it.each([
    ['port', 'port'],
    ['body.port', 'port'],
    ['/port', 'port'],
    ['path_map[1].remote', 'path_map.1.remote'],
    ['path_map[0]', 'path_map.0.local'],
    ['env_vars.BAD-NAME', 'env_vars.1'],
    ['env_vars["BAD-NAME"]', 'env_vars.1'],
    ['env_vars.NOPE', 'env_vars'],
    ['auth.token', 'auth_token'],
    ['auth', 'auth_type'],
    ['tags[2]', 'tags'],
    ['', 'form'],
    ['instances[0].port', 'form'],
    ['nonsense', 'form'],
  ])('%s → %s', (path, key) => {
    expect(fieldKeyForPath(path, form)).toBe(key);
  });

  it('groups messages by input and keeps unplaceable ones readable', () => {
    expect(
      mapServerErrors(
        [
          { path: 'port', message: 'must be between 1 and 65535, got 70000' },
          { path: 'name', message: "'a' is taken" },
          { path: 'zzz', message: 'is not a field (did you mean "tags"?)' },
        ],
        form,
      ),
    ).toEqual({
      port: ['must be between 1 and 65535, got 70000'],
      name: ["'a' is taken"],
      form: ['zzz: is not a field (did you mean "tags"?)'],
    });
  });
});
