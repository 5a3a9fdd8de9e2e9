import { useQueryClient } from '@tanstack/react-query';
import { useId, useState } from 'react';
import {
  ApiRequestError,
  api,
  errorMessage,
  isNotAvailable,
  type TemplateParameter,
  type TemplateView,
} from '../../api/index.js';
import { toast } from '../../components/toasts.js';
import { useInstances, useTemplates } from '../../state/queries.js';
import { keys } from '../../state/query-keys.js';
import { navigate } from '../../state/router.js';
import { parseTags } from '../instances/editor-form.js';
import { JobsUnavailable } from './jobs-page.js';

/**
 * Parses a workflow file: API format (node id → {class_type, inputs}) is accepted, the UI
 * format (`nodes`, `links`) is explained.
 *
 * @example
 * parseWorkflow('{"1":{"class_type":"LoadImage","inputs":{}}}'); // { workflow: {...} }
 */
export function parseWorkflow(
  text: string,
): { workflow: Record<string, unknown> } | { error: string } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return { error: `not valid JSON: ${(e as Error).message}` };
  }
  if (!v || typeof v !== 'object' || Array.isArray(v))
    return { error: 'the workflow must be a JSON object' };
  const o = v as Record<string, unknown>;
  if (Array.isArray(o.nodes) && Array.isArray(o.links)) {
    return {
      error:
        'this is a UI-format workflow; in ComfyUI use "Export (API)" / "Save (API Format)" and upload that file',
    };
  }
  const wf = o.prompt && typeof o.prompt === 'object' ? (o.prompt as Record<string, unknown>) : o;
  const nodes = Object.values(wf);
  if (nodes.length === 0) return { error: 'the workflow has no nodes' };
  const bad = Object.entries(wf).find(
    ([, n]) =>
      !n || typeof n !== 'object' || typeof (n as { class_type?: unknown }).class_type !== 'string',
  );
  if (bad) return { error: `node ${bad[0]} has no class_type (is this an API-format workflow?)` };
  return { workflow: wf };
}

function readDataUrl(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result));
    r.onerror = () => reject(r.error ?? new Error('cannot read the file'));
    r.readAsDataURL(file);
  });
}

/** Value of a template parameter from its text input, by type. */
export function paramValue(p: TemplateParameter, raw: string): unknown {
  switch (p.type) {
    case 'integer':
    case 'number':
      return raw.trim() === '' ? undefined : Number(raw);
    case 'boolean':
      return raw === 'true';
    default:
      return raw === '' ? undefined : raw;
  }
}

function ParamInput(props: {
  name: string;
  p: TemplateParameter;
  value: string;
  onChange: (v: string) => void;
  onFile: (f: File | null) => void;
  error: string | undefined;
}) {
  const id = useId();
  const { p } = props;
  const common = {
    id,
    'aria-invalid': Boolean(props.error),
    'aria-describedby': props.error ? `${id}-err` : undefined,
  };
  let input: React.ReactNode;
  if (p.type === 'image') {
    input = (
      <input
        {...common}
        type="file"
        accept="image/*"
        onChange={(e) => props.onFile(e.target.files?.[0] ?? null)}
      />
    );
  } else if (p.type === 'boolean') {
    input = (
      <select {...common} value={props.value} onChange={(e) => props.onChange(e.target.value)}>
        <option value="">default</option>
        <option value="true">yes</option>
        <option value="false">no</option>
      </select>
    );
  } else if (p.type === 'choice' && p.choices) {
    input = (
      <select {...common} value={props.value} onChange={(e) => props.onChange(e.target.value)}>
        <option value="">
          {p.default !== undefined ? `default (${String(p.default)})` : 'choose…'}
        </option>
        {p.choices.map((c) => (
          <option key={String(c)} value={String(c)}>
            {String(c)}
          </option>
        ))}
      </select>
    );
  } else {
    input = (
      <input
        {...common}
        inputMode={p.type === 'integer' || p.type === 'number' ? 'decimal' : undefined}
        value={props.value}
        placeholder={p.default !== undefined ? String(p.default) : ''}
        onChange={(e) => props.onChange(e.target.value)}
      />
    );
  }
  return (
    <div className={`field ${props.error ? 'invalid' : ''}`}>
      <label htmlFor={id}>
        {props.name}
        {p.required || (p.required === undefined && p.default === undefined) ? ' *' : ''}{' '}
        <span className="muted small">
          ({p.type}
          {p.min !== undefined ? `, ≥ ${p.min}` : ''}
          {p.max !== undefined ? `, ≤ ${p.max}` : ''})
        </span>
      </label>
      {input}
      {p.description && <span className="hint">{p.description}</span>}
      {props.error && (
        <span id={`${id}-err`} className="error-text">
          {props.error}
        </span>
      )}
    </div>
  );
}

/** Submit a job: an uploaded workflow or a template with parameters, plus input images. */
export function SubmitJobPage() {
  const qc = useQueryClient();
  const templates = useTemplates();
  const instances = useInstances();
  const [mode, setMode] = useState<'workflow' | 'template'>('workflow');
  const [workflowText, setWorkflowText] = useState('');
  const [templateName, setTemplateName] = useState('');
  const [params, setParams] = useState<Record<string, string>>({});
  const [paramFiles, setParamFiles] = useState<Record<string, File | null>>({});
  const [files, setFiles] = useState<File[]>([]);
  const [priority, setPriority] = useState('0');
  const [pin, setPin] = useState('');
  const [tags, setTags] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);

  const template: TemplateView | undefined = templates.data?.find((t) => t.name === templateName);

  const submit = async () => {
    const errs: Record<string, string> = {};
    const body: Record<string, unknown> = {};
    const inputs: Array<{ name: string; data: string }> = [];
    if (mode === 'workflow') {
      const parsed = parseWorkflow(workflowText);
      if ('error' in parsed) errs.workflow = parsed.error;
      else body.workflow = parsed.workflow;
    } else if (!template) errs.template = 'choose a template';
    else {
      body.template = template.name;
      const values: Record<string, unknown> = {};
      for (const [name, p] of Object.entries(template.parameters)) {
        if (p.type === 'image') {
          const f = paramFiles[name];
          if (f) {
            inputs.push({ name: f.name, data: await readDataUrl(f) });
            values[name] = f.name;
          }
        } else {
          const v = paramValue(p, params[name] ?? '');
          if (typeof v === 'number' && Number.isNaN(v)) errs[`params.${name}`] = 'must be a number';
          else if (v !== undefined) values[name] = v;
        }
        const required = p.required ?? p.default === undefined;
        if (required && values[name] === undefined && !errs[`params.${name}`]) {
          errs[`params.${name}`] = 'is required';
        }
      }
      body.params = values;
    }
    for (const f of files) inputs.push({ name: f.name, data: await readDataUrl(f) });
    if (inputs.length > 0) body.inputs = inputs;
    const pr = Number(priority);
    if (!Number.isInteger(pr) || pr < -1000 || pr > 1000)
      errs.priority = 'a whole number from -1000 to 1000';
    else body.priority = pr;
    if (pin) body.pin = pin;
    const tagList = parseTags(tags);
    if (tagList.length > 0) body.tags = tagList;
    setErrors(errs);
    if (Object.keys(errs).length > 0) return;
    setBusy(true);
    try {
      const accepted = await api.jobs.submit(body);
      void qc.invalidateQueries({ queryKey: keys.jobsAll });
      toast(
        `Job submitted${accepted.queue_position != null ? ` (queue position ${accepted.queue_position})` : ''}`,
      );
      navigate(`/jobs/${accepted.job_id}`);
    } catch (error) {
      if (error instanceof ApiRequestError && error.fieldErrors.length > 0) {
        const mapped: Record<string, string> = {};
        for (const fe of error.fieldErrors) {
          const key = fe.path
            .replace(/^body\./, '')
            .replace(/^params\[["']?(\w+)["']?\]/, 'params.$1');
          const k = key.startsWith('params.')
            ? key.split('.').slice(0, 2).join('.')
            : key.split(/[.[]/)[0] || 'form';
          mapped[k] = mapped[k] ? `${mapped[k]}; ${fe.message}` : fe.message;
        }
        mapped.form = error.message;
        setErrors(mapped);
      } else if (isNotAvailable(error)) {
        setErrors({ form: 'Jobs API not available on this gateway.' });
      } else {
        const details = error instanceof ApiRequestError ? nodeErrorsText(error.details) : '';
        setErrors({ form: `${errorMessage(error)}${details ? ` — ${details}` : ''}` });
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="page submit-page" aria-labelledby="submit-title">
      <div className="page-head">
        <h1 id="submit-title">Submit a job</h1>
      </div>
      <form
        className="submit-form"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <fieldset className="segmented">
          <legend className="sr-only">Source</legend>
          <button
            type="button"
            aria-pressed={mode === 'workflow'}
            onClick={() => setMode('workflow')}
          >
            Workflow JSON
          </button>
          <button
            type="button"
            aria-pressed={mode === 'template'}
            onClick={() => setMode('template')}
          >
            Template
          </button>
        </fieldset>
        {mode === 'workflow' ? (
          <fieldset>
            <legend>Workflow (API format)</legend>
            <div className="field">
              <label htmlFor="wf-file">Upload a workflow file</label>
              <input
                id="wf-file"
                type="file"
                accept="application/json,.json"
                onChange={async (e) => {
                  const f = e.target.files?.[0];
                  if (f) setWorkflowText(await f.text());
                }}
              />
            </div>
            <div className={`field ${errors.workflow ? 'invalid' : ''}`}>
              <label htmlFor="wf-text">…or paste it</label>
              <textarea
                id="wf-text"
                rows={10}
                className="mono"
                value={workflowText}
                aria-invalid={Boolean(errors.workflow)}
                aria-describedby={errors.workflow ? 'wf-err' : undefined}
                onChange={(e) => setWorkflowText(e.target.value)}
              />
              {errors.workflow && (
                <span id="wf-err" className="error-text">
                  {errors.workflow}
                </span>
              )}
            </div>
          </fieldset>
        ) : (
          <fieldset>
            <legend>Template</legend>
            {templates.error && isNotAvailable(templates.error) ? (
              <JobsUnavailable />
            ) : (
              <div className={`field ${errors.template ? 'invalid' : ''}`}>
                <label htmlFor="tpl">Template</label>
                <select
                  id="tpl"
                  value={templateName}
                  aria-invalid={Boolean(errors.template)}
                  onChange={(e) => {
                    setTemplateName(e.target.value);
                    setParams({});
                    setParamFiles({});
                  }}
                >
                  <option value="">choose…</option>
                  {(templates.data ?? []).map((t) => (
                    <option key={t.name} value={t.name}>
                      {t.name}
                    </option>
                  ))}
                </select>
                {errors.template && <span className="error-text">{errors.template}</span>}
              </div>
            )}
            {template && (
              <>
                {template.description && <p className="muted">{template.description}</p>}
                <div className="grid2">
                  {Object.entries(template.parameters).map(([name, p]) => (
                    <ParamInput
                      key={name}
                      name={name}
                      p={p}
                      value={params[name] ?? ''}
                      onChange={(v) => setParams({ ...params, [name]: v })}
                      onFile={(f) => setParamFiles({ ...paramFiles, [name]: f })}
                      error={errors[`params.${name}`]}
                    />
                  ))}
                </div>
              </>
            )}
          </fieldset>
        )}
        <fieldset>
          <legend>Inputs and placement</legend>
          <div className="field">
            <label htmlFor="inputs">Input images</label>
            <input
              id="inputs"
              type="file"
              accept="image/*"
              multiple
              onChange={(e) => setFiles([...(e.target.files ?? [])])}
            />
            <span className="hint">
              Referenced by file name (LoadImage's image set to the same name).
            </span>
            {files.length > 0 && (
              <ul className="small">
                {files.map((f) => (
                  <li key={f.name}>{f.name}</li>
                ))}
              </ul>
            )}
          </div>
          <div className="grid2">
            <div className={`field ${errors.priority ? 'invalid' : ''}`}>
              <label htmlFor="prio">Priority</label>
              <input
                id="prio"
                inputMode="numeric"
                value={priority}
                aria-invalid={Boolean(errors.priority)}
                onChange={(e) => setPriority(e.target.value)}
              />
              <span className="hint">Higher runs first</span>
              {errors.priority && <span className="error-text">{errors.priority}</span>}
            </div>
            <div className={`field ${errors.pin ? 'invalid' : ''}`}>
              <label htmlFor="pin">Instance</label>
              <select id="pin" value={pin} onChange={(e) => setPin(e.target.value)}>
                <option value="">any (scheduler picks)</option>
                <option value="active">the active instance</option>
                {(instances.data ?? []).map((i) => (
                  <option key={i.id} value={i.id}>
                    {i.name}
                  </option>
                ))}
              </select>
              {errors.pin && <span className="error-text">{errors.pin}</span>}
            </div>
          </div>
          <div className={`field ${errors.tags ? 'invalid' : ''}`}>
            <label htmlFor="job-tags">Required instance tags</label>
            <input id="job-tags" value={tags} onChange={(e) => setTags(e.target.value)} />
            {errors.tags && <span className="error-text">{errors.tags}</span>}
          </div>
        </fieldset>
        {errors.form && (
          <p className="error-text" role="alert">
            {errors.form}
          </p>
        )}
        <div className="row end">
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Submitting…' : 'Submit job'}
          </button>
        </div>
      </form>
    </section>
  );
}

/** ComfyUI's node_errors in a line: `node 3 (KSampler): Value not in list`. */
export function nodeErrorsText(details: unknown): string {
  if (!details || typeof details !== 'object') return '';
  const ne = (details as { node_errors?: unknown }).node_errors;
  const missing = (details as { missing?: unknown }).missing;
  const parts: string[] = [];
  if (ne && typeof ne === 'object') {
    for (const [node, v] of Object.entries(ne as Record<string, unknown>)) {
      const errs = (v as { errors?: Array<{ message?: string; details?: string }> })?.errors ?? [];
      const cls = (v as { class_type?: string })?.class_type;
      parts.push(
        `node ${node}${cls ? ` (${cls})` : ''}: ${errs.map((e) => [e.message, e.details].filter(Boolean).join(': ')).join('; ')}`,
      );
    }
  }
  if (missing && typeof missing === 'object') parts.push(`missing: ${JSON.stringify(missing)}`);
  return parts.join(' · ');
}
