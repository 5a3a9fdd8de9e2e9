import { useQueryClient } from '@tanstack/react-query';
import { type ReactNode, useEffect, useId, useRef, useState } from 'react';
import {
  ApiRequestError,
  api,
  type ConnectionTestResult,
  errorMessage,
  type InstanceCreate,
  type InstanceView,
  isNotAvailable,
  type PortAvailability,
} from '../../api/index.js';
import { Dialog } from '../../components/dialog.js';
import { toast } from '../../components/toasts.js';
import { formatBytes } from '../../state/format.js';
import { keys } from '../../state/query-keys.js';
import {
  type EditorForm,
  emptyForm,
  type FieldErrors,
  formFromInstance,
  formToPayload,
  mapServerErrors,
} from './editor-form.js';

function Field(props: {
  label: string;
  name: string;
  errors: FieldErrors;
  hint?: string;
  children: (a: {
    id: string;
    'aria-invalid': boolean;
    'aria-describedby': string | undefined;
    name: string;
  }) => ReactNode;
}) {
  const id = useId();
  const errs = props.errors[props.name];
  const describedBy = [errs ? `${id}-err` : null, props.hint ? `${id}-hint` : null]
    .filter(Boolean)
    .join(' ');
  return (
    <div className={`field ${errs ? 'invalid' : ''}`}>
      <label htmlFor={id}>{props.label}</label>
      {props.children({
        id,
        'aria-invalid': Boolean(errs),
        'aria-describedby': describedBy || undefined,
        name: props.name,
      })}
      {props.hint && (
        <span id={`${id}-hint`} className="hint">
          {props.hint}
        </span>
      )}
      {errs && (
        <span id={`${id}-err`} className="error-text" data-field-error={props.name}>
          {errs.join('; ')}
        </span>
      )}
    </div>
  );
}

function TestResult({ result }: { result: ConnectionTestResult | { error: string } }) {
  if ('error' in result) {
    return (
      <div className="test-result bad" role="status">
        Test failed: {result.error}
      </div>
    );
  }
  if (!result.ok) {
    return (
      <div className="test-result bad" role="status" data-testid="test-result">
        <strong>Not reachable ({result.kind.replace('_', ' ')})</strong>: {result.message}
        {result.status !== undefined && <> (HTTP {result.status})</>}
        {result.round_trip_ms !== undefined && <> after {Math.round(result.round_trip_ms)} ms</>}
      </div>
    );
  }
  return (
    <div className="test-result ok" role="status" data-testid="test-result">
      <strong>Connected</strong>: ComfyUI {result.comfyui_version}
      {result.pytorch_version && <>, PyTorch {result.pytorch_version}</>}, round trip{' '}
      {Math.round(result.round_trip_ms)} ms
      <ul>
        {result.devices.map((d) => (
          <li key={`${d.name}-${d.index}`}>
            {d.name} ({d.type}) — VRAM {formatBytes(d.vram_free)} free of{' '}
            {formatBytes(d.vram_total)}
          </li>
        ))}
      </ul>
    </div>
  );
}

/** What the editor knows about the port of a managed instance. */
type PortState =
  | { kind: 'checked'; result: PortAvailability }
  | { kind: 'not_available' }
  | { kind: 'error'; message: string };

function PortStatus(props: { state: PortState; port: string; onUse: (port: number) => void }) {
  const { state } = props;
  if (state.kind === 'not_available') {
    return (
      <div className="small hint" role="status">
        port check not available on this gateway
      </div>
    );
  }
  if (state.kind === 'error') {
    return (
      <div className="small error-text" role="status">
        port check failed: {state.message}
      </div>
    );
  }
  const r = state.result;
  // An answer for a port the field no longer holds is stale.
  if (String(r.port) !== props.port.trim()) return null;
  const by = r.holder
    ? ` by pid ${r.holder.pid} (${r.holder.command.length > 48 ? `${r.holder.command.slice(0, 47)}…` : r.holder.command})`
    : r.used_by
      ? ` by instance ${r.used_by.name}`
      : '';
  return (
    <div className="small" role="status" data-testid="port-status">
      {r.available ? (
        <span className="ok-text">free on the gateway host</span>
      ) : (
        <span className="error-text" title={r.reason ?? undefined}>
          in use{by}
        </span>
      )}
      {!r.available && r.suggested !== null && (
        <>
          {' '}
          <button type="button" className="link" onClick={() => props.onUse(r.suggested ?? 0)}>
            Use suggested port {r.suggested}
          </button>
        </>
      )}
      {!r.available && r.suggested === null && <> — no free port nearby</>}
    </div>
  );
}

/**
 * Add or edit an instance: every field of the instance model, inline validation with the
 * gateway's own messages, "Test connection", port availability for managed instances.
 */
export function InstanceEditor(props: { instance: InstanceView | null; onClose: () => void }) {
  const editing = props.instance;
  const qc = useQueryClient();
  const [form, setForm] = useState<EditorForm>(() =>
    editing ? formFromInstance(editing) : emptyForm(),
  );
  const [errors, setErrors] = useState<FieldErrors>({});
  const [saving, setSaving] = useState(false);
  const [testing, setTesting] = useState(false);
  const [test, setTest] = useState<ConnectionTestResult | { error: string } | null>(null);
  const [port, setPort] = useState<PortState | null>(null);
  const formRef = useRef<HTMLFormElement>(null);
  const readOnly = editing?.source === 'env';

  const set = <K extends keyof EditorForm>(k: K, v: EditorForm[K]) => {
    setForm((f) => ({ ...f, [k]: v }));
    setErrors((e) => {
      if (!(k in e)) return e;
      const { [k as string]: _gone, ...rest } = e;
      return rest;
    });
  };

  // Port availability matters for managed instances (the gateway starts them on this host).
  const editingId = editing?.id;
  useEffect(() => {
    const n = Number(form.port.trim());
    if (form.kind !== 'managed' || !/^\d+$/.test(form.port.trim()) || n < 1 || n > 65_535) {
      setPort(null);
      return;
    }
    const host = form.host.trim();
    let live = true;
    const t = setTimeout(() => {
      api.instances
        .portCheck(n, {
          ...(host ? { host } : {}),
          ...(editingId ? { exclude: editingId } : {}),
        })
        .then((result) => {
          if (live) setPort({ kind: 'checked', result });
        })
        .catch((e: unknown) => {
          if (!live) return;
          setPort(
            isNotAvailable(e)
              ? { kind: 'not_available' }
              : { kind: 'error', message: errorMessage(e) },
          );
        });
    }, 300);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [form.kind, form.port, form.host, editingId]);

  const focusFirstError = (errs: FieldErrors) => {
    const first = Object.keys(errs)[0];
    if (!first) return;
    const el = formRef.current?.querySelector<HTMLElement>(
      // Inside a quoted attribute value only quotes and backslashes need escaping.
      `[name="${first.replace(/["\\]/g, '\\$&')}"]`,
    );
    el?.focus();
  };

  const submit = async () => {
    const { body, errors: local } = formToPayload(form, editing);
    if (Object.keys(local).length > 0) {
      setErrors(local);
      focusFirstError(local);
      return;
    }
    setSaving(true);
    try {
      const saved = editing
        ? await api.instances.update(editing.id, body)
        : await api.instances.create(body as InstanceCreate);
      qc.setQueryData<InstanceView[]>(keys.instances, (list) => {
        if (!list || !saved?.id) return list;
        const i = list.findIndex((x) => x.id === saved.id);
        return i < 0 ? [...list, saved] : list.map((x) => (x.id === saved.id ? saved : x));
      });
      void qc.invalidateQueries({ queryKey: keys.instances });
      toast(editing ? `Saved ${saved?.name ?? editing.name}` : `Added ${saved?.name ?? body.name}`);
      props.onClose();
    } catch (error) {
      if (error instanceof ApiRequestError && error.fieldErrors.length > 0) {
        const mapped = mapServerErrors(error.fieldErrors, form);
        setErrors(mapped);
        focusFirstError(mapped);
      } else setErrors({ form: [errorMessage(error)] });
    } finally {
      setSaving(false);
    }
  };

  const runTest = async () => {
    const { body, errors: local } = formToPayload(form, editing);
    if (local.host || local.port) {
      setErrors(local);
      return;
    }
    setTesting(true);
    setTest(null);
    try {
      const unchanged =
        editing &&
        editing.host === form.host.trim() &&
        String(editing.port) === form.port.trim() &&
        editing.tls === form.tls &&
        !form.auth_changed;
      let result: ConnectionTestResult;
      if (unchanged) result = await api.instances.test(editing.id);
      else {
        // `auth: null` (credentials removed) means: test without any.
        const { auth, ...rest } = body as InstanceCreate & { auth?: InstanceCreate['auth'] | null };
        const draft: InstanceCreate = auth ? { ...rest, auth } : rest;
        // Credentials left as they are stay on the gateway: it uses the stored ones.
        const keepStored = editing?.auth && !('auth' in body);
        result = await api.instances.testConfig(
          draft,
          keepStored && editing ? { credentialsOf: editing.id } : {},
        );
      }
      setTest(result);
    } catch (error) {
      if (error instanceof ApiRequestError && error.fieldErrors.length > 0) {
        const mapped = mapServerErrors(error.fieldErrors, form);
        setErrors(mapped);
        focusFirstError(mapped);
        setTest({ error: 'fix the highlighted fields first' });
        return;
      }
      setTest({
        error: isNotAvailable(error)
          ? editing
            ? 'this gateway tests saved settings only: save, then test again'
            : 'this gateway tests saved instances only: add the instance, then use Test on its card'
          : errorMessage(error),
      });
    } finally {
      setTesting(false);
    }
  };

  const envRow = (i: number, patch: Partial<{ key: string; value: string }>) =>
    set(
      'env_vars',
      form.env_vars.map((r, n) => (n === i ? { ...r, ...patch } : r)),
    );
  const pathRow = (i: number, patch: Partial<{ local: string; remote: string }>) =>
    set(
      'path_map',
      form.path_map.map((r, n) => (n === i ? { ...r, ...patch } : r)),
    );

  return (
    <Dialog
      title={editing ? `Edit ${editing.name}` : 'Add instance'}
      onClose={props.onClose}
      wide
      initialFocus='[name="name"]'
      footer={
        <>
          {errors.form && (
            <div className="error-text form-error" role="alert">
              {errors.form.join('; ')}
            </div>
          )}
          <button type="button" onClick={runTest} disabled={testing}>
            {testing ? 'Testing…' : 'Test connection'}
          </button>
          <span className="spacer" />
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button
            type="submit"
            form="instance-editor-form"
            className="primary"
            disabled={saving || readOnly}
          >
            {saving ? 'Saving…' : editing ? 'Save' : 'Add instance'}
          </button>
        </>
      }
    >
      {readOnly && (
        <p className="notice">
          This instance comes from the environment ({editing?.origin ?? 'env'}) and cannot be
          changed here.
        </p>
      )}
      <form
        id="instance-editor-form"
        ref={formRef}
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <fieldset>
          <legend>Basic settings</legend>
          <div className="grid2">
            <Field label="Name" name="name" errors={errors} hint="Unique; defaults to host:port">
              {(a) => (
                <input {...a} value={form.name} onChange={(e) => set('name', e.target.value)} />
              )}
            </Field>
            <Field label="Kind" name="kind" errors={errors}>
              {(a) => (
                <select
                  {...a}
                  value={form.kind}
                  onChange={(e) => set('kind', e.target.value as EditorForm['kind'])}
                >
                  <option value="remote">remote (runs elsewhere)</option>
                  <option value="managed">managed (started by the gateway)</option>
                </select>
              )}
            </Field>
            <Field label="Host" name="host" errors={errors} hint="Hostname, IPv4 or IPv6">
              {(a) => (
                <input
                  {...a}
                  value={form.host}
                  required
                  onChange={(e) => set('host', e.target.value)}
                />
              )}
            </Field>
            <Field label="Port" name="port" errors={errors}>
              {(a) => (
                <div>
                  <input
                    {...a}
                    inputMode="numeric"
                    value={form.port}
                    onChange={(e) => set('port', e.target.value)}
                  />
                  {port && (
                    <PortStatus
                      state={port}
                      port={form.port}
                      onUse={(n) => set('port', String(n))}
                    />
                  )}
                </div>
              )}
            </Field>
          </div>
          <Field label="Description" name="description" errors={errors}>
            {(a) => (
              <textarea
                {...a}
                rows={2}
                value={form.description}
                onChange={(e) => set('description', e.target.value)}
              />
            )}
          </Field>
          <label className="check">
            <input
              type="checkbox"
              checked={form.tls}
              onChange={(e) => set('tls', e.target.checked)}
            />
            TLS (https / wss)
          </label>
        </fieldset>

        <fieldset>
          <legend>Authentication</legend>
          <Field
            label="Credentials"
            name="auth_type"
            errors={errors}
            {...(editing?.auth && !form.auth_changed
              ? { hint: 'Stored credentials are kept unless you enter new ones' }
              : {})}
          >
            {(a) => (
              <select
                {...a}
                value={form.auth_type}
                onChange={(e) => {
                  set('auth_type', e.target.value as EditorForm['auth_type']);
                  set('auth_changed', true);
                }}
              >
                <option value="">none</option>
                <option value="bearer">bearer token</option>
                <option value="basic">basic (user + password)</option>
                <option value="header">custom header</option>
              </select>
            )}
          </Field>
          <div className="grid2">
            {form.auth_type === 'bearer' && (
              <Field label="Token" name="auth_token" errors={errors}>
                {(a) => (
                  <input
                    {...a}
                    type="password"
                    autoComplete="off"
                    value={form.auth_token}
                    onChange={(e) => {
                      set('auth_token', e.target.value);
                      set('auth_changed', true);
                    }}
                  />
                )}
              </Field>
            )}
            {form.auth_type === 'basic' && (
              <>
                <Field label="User name" name="auth_username" errors={errors}>
                  {(a) => (
                    <input
                      {...a}
                      autoComplete="off"
                      value={form.auth_username}
                      onChange={(e) => {
                        set('auth_username', e.target.value);
                        set('auth_changed', true);
                      }}
                    />
                  )}
                </Field>
                <Field label="Password" name="auth_password" errors={errors}>
                  {(a) => (
                    <input
                      {...a}
                      type="password"
                      autoComplete="off"
                      value={form.auth_password}
                      onChange={(e) => {
                        set('auth_password', e.target.value);
                        set('auth_changed', true);
                      }}
                    />
                  )}
                </Field>
              </>
            )}
            {form.auth_type === 'header' && (
              <>
                <Field label="Header name" name="auth_header_name" errors={errors}>
                  {(a) => (
                    <input
                      {...a}
                      value={form.auth_header_name}
                      onChange={(e) => {
                        set('auth_header_name', e.target.value);
                        set('auth_changed', true);
                      }}
                    />
                  )}
                </Field>
                <Field label="Header value" name="auth_header_value" errors={errors}>
                  {(a) => (
                    <input
                      {...a}
                      type="password"
                      autoComplete="off"
                      value={form.auth_header_value}
                      onChange={(e) => {
                        set('auth_header_value', e.target.value);
                        set('auth_changed', true);
                      }}
                    />
                  )}
                </Field>
              </>
            )}
          </div>
        </fieldset>

        <fieldset>
          <legend>Resources</legend>
          <div className="grid2">
            <Field
              label="GPU device"
              name="gpu_device"
              errors={errors}
              hint="e.g. 0 or cuda:1 (managed)"
            >
              {(a) => (
                <input
                  {...a}
                  value={form.gpu_device}
                  onChange={(e) => set('gpu_device', e.target.value)}
                />
              )}
            </Field>
            <Field label="Custom nodes path" name="custom_nodes_path" errors={errors}>
              {(a) => (
                <input
                  {...a}
                  value={form.custom_nodes_path}
                  onChange={(e) => set('custom_nodes_path', e.target.value)}
                />
              )}
            </Field>
            <Field label="Max concurrent" name="max_concurrent" errors={errors} hint="1–64">
              {(a) => (
                <input
                  {...a}
                  inputMode="numeric"
                  value={form.max_concurrent}
                  onChange={(e) => set('max_concurrent', e.target.value)}
                />
              )}
            </Field>
            <Field
              label="Prefetch"
              name="prefetch"
              errors={errors}
              hint="Queued on the instance, 0–64"
            >
              {(a) => (
                <input
                  {...a}
                  inputMode="numeric"
                  value={form.prefetch}
                  onChange={(e) => set('prefetch', e.target.value)}
                />
              )}
            </Field>
          </div>
          <div className={`field ${errors.env_vars ? 'invalid' : ''}`}>
            <span className="label" id="env-label">
              Environment variables
            </span>
            <table className="kv" aria-labelledby="env-label">
              <tbody>
                {form.env_vars.map((row, i) => (
                  // biome-ignore lint/suspicious/noArrayIndexKey: rows are positional
                  <tr key={i}>
                    <td>
                      <input
                        aria-label={`Variable ${i + 1} name`}
                        name={`env_vars.${i}`}
                        aria-invalid={Boolean(errors[`env_vars.${i}`])}
                        value={row.key}
                        onChange={(e) => envRow(i, { key: e.target.value })}
                      />
                    </td>
                    <td>
                      <input
                        aria-label={`Variable ${i + 1} value`}
                        value={row.value}
                        onChange={(e) => envRow(i, { value: e.target.value })}
                      />
                    </td>
                    <td>
                      <button
                        type="button"
                        className="icon"
                        aria-label={`Remove variable ${i + 1}`}
                        onClick={() =>
                          set(
                            'env_vars',
                            form.env_vars.filter((_, n) => n !== i),
                          )
                        }
                      >
                        ×
                      </button>
                    </td>
                    {errors[`env_vars.${i}`] && (
                      <td className="error-text">{errors[`env_vars.${i}`]!.join('; ')}</td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
            {errors.env_vars && <span className="error-text">{errors.env_vars.join('; ')}</span>}
            <button
              type="button"
              className="link"
              onClick={() => set('env_vars', [...form.env_vars, { key: '', value: '' }])}
            >
              + Add variable
            </button>
          </div>
        </fieldset>

        <fieldset>
          <legend>Runtime</legend>
          <div className="grid2">
            <Field label="Timeout (ms)" name="timeout_ms" errors={errors} hint="1000 ms – 7 days">
              {(a) => (
                <input
                  {...a}
                  inputMode="numeric"
                  value={form.timeout_ms}
                  onChange={(e) => set('timeout_ms', e.target.value)}
                />
              )}
            </Field>
            <Field
              label="Priority"
              name="priority"
              errors={errors}
              hint="Lower is preferred (1 = first choice)"
            >
              {(a) => (
                <input
                  {...a}
                  inputMode="numeric"
                  value={form.priority}
                  onChange={(e) => set('priority', e.target.value)}
                />
              )}
            </Field>
          </div>
          <Field label="Tags" name="tags" errors={errors} hint="Comma separated, e.g. sdxl, fast">
            {(a) => (
              <input {...a} value={form.tags} onChange={(e) => set('tags', e.target.value)} />
            )}
          </Field>
          <div className={`field ${errors.path_map ? 'invalid' : ''}`}>
            <span className="label" id="pm-label">
              Path map (shared folders)
            </span>
            <table className="kv" aria-labelledby="pm-label">
              <tbody>
                {form.path_map.map((row, i) => (
                  // biome-ignore lint/suspicious/noArrayIndexKey: rows are positional
                  <tr key={i}>
                    <td>
                      <input
                        aria-label={`Mapping ${i + 1} local prefix`}
                        name={`path_map.${i}.local`}
                        placeholder="U:/"
                        aria-invalid={Boolean(errors[`path_map.${i}.local`])}
                        value={row.local}
                        onChange={(e) => pathRow(i, { local: e.target.value })}
                      />
                    </td>
                    <td>
                      <input
                        aria-label={`Mapping ${i + 1} remote prefix`}
                        name={`path_map.${i}.remote`}
                        placeholder="/home/me/ComfyUI/"
                        aria-invalid={Boolean(errors[`path_map.${i}.remote`])}
                        value={row.remote}
                        onChange={(e) => pathRow(i, { remote: e.target.value })}
                      />
                    </td>
                    <td>
                      <button
                        type="button"
                        className="icon"
                        aria-label={`Remove mapping ${i + 1}`}
                        onClick={() =>
                          set(
                            'path_map',
                            form.path_map.filter((_, n) => n !== i),
                          )
                        }
                      >
                        ×
                      </button>
                    </td>
                    {(errors[`path_map.${i}.local`] || errors[`path_map.${i}.remote`]) && (
                      <td className="error-text">
                        {[
                          ...(errors[`path_map.${i}.local`] ?? []),
                          ...(errors[`path_map.${i}.remote`] ?? []),
                        ].join('; ')}
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
            {errors.path_map && <span className="error-text">{errors.path_map.join('; ')}</span>}
            <button
              type="button"
              className="link"
              onClick={() => set('path_map', [...form.path_map, { local: '', remote: '' }])}
            >
              + Add mapping
            </button>
          </div>
          <label className="check">
            <input
              type="checkbox"
              checked={form.enabled}
              onChange={(e) => set('enabled', e.target.checked)}
            />
            Enabled (route work here)
          </label>
          <label className="check">
            <input
              type="checkbox"
              checked={form.auto_start}
              onChange={(e) => set('auto_start', e.target.checked)}
            />
            Start automatically with the gateway
          </label>
        </fieldset>
        {test && <TestResult result={test} />}
      </form>
    </Dialog>
  );
}
