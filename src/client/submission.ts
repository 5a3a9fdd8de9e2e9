import { openAsBlob } from 'node:fs';
import path from 'node:path';
import { ClusterError } from './errors.js';

/**
 * A file given with a job, keyed in {@link SubmitRequest.inputs} by the name the workflow uses
 * (LoadImage's `image`). Local bytes (`path`, `data`) are uploaded as multipart files;
 * `data_url` is sent inline; `url` is fetched by the gateway (only from hosts it allows); `hash`
 * names an input stored earlier. `node` + `input` bind the file to one node input explicitly.
 */
export type InputFile = (
  | { path: string }
  | {
      data: Uint8Array | Blob;
      /** Informational: the key of `inputs` is the name the file gets. */
      filename?: string;
    }
  | { data_url: string }
  | { url: string }
  | { hash: string }
) & { node?: string; input?: string };

/**
 * A job: a `workflow` (API format) or a `template` with `params`, plus inputs and scheduling.
 *
 * @example
 * const req: SubmitRequest = { template: 'upscale-image', params: { image: 'in.png', scale: 2 }, inputs: { 'in.png': { path: './cat.png' } } };
 */
export interface SubmitRequest {
  workflow?: Record<string, unknown>;
  template?: string;
  params?: Record<string, unknown>;
  inputs?: Record<string, InputFile>;
  /** Higher runs first (-1000..1000). */
  priority?: number;
  /** An instance id, or 'active'. */
  pin?: string;
  /** The instance must carry every tag. */
  tags?: string[];
  timeout_ms?: number;
  max_attempts?: number;
  /** The same key (per owner) returns the same job. */
  idempotency_key?: string;
  metadata?: Record<string, unknown>;
  webhook_url?: string;
  /** Admins only: record the job under another key id. */
  owner?: string;
}

/** The body of POST /api/v1/jobs: JSON, or multipart when local bytes are uploaded. */
export type SubmissionBody = { json: Record<string, unknown> } | { form: FormData };

function bytesToBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

async function blobOf(name: string, file: InputFile): Promise<Blob | undefined> {
  if ('path' in file) {
    try {
      return await openAsBlob(file.path);
    } catch (err) {
      throw new ClusterError(
        'input_unreadable',
        `input ${JSON.stringify(name)}: cannot read ${file.path}: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
  }
  if ('data' in file) {
    return file.data instanceof Blob ? file.data : new Blob([file.data as Uint8Array<ArrayBuffer>]);
  }
  return undefined;
}

/**
 * Builds the body of a submission. Files from disk and bytes go as multipart parts named by their
 * input name (streamed from disk, never read whole); everything else is JSON. A file bound with
 * `node` + `input` travels inline (base64), since a multipart file carries only its name.
 *
 * @example
 * const body = await submissionBody({ workflow, inputs: { 'cat.png': { path: 'cat.png' } } }); // { form }
 */
export async function submissionBody(req: SubmitRequest): Promise<SubmissionBody> {
  const { inputs = {}, ...rest } = req;
  const json: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rest)) if (v !== undefined) json[k] = v;
  const listed: Array<Record<string, unknown>> = [];
  const files: Array<{ name: string; blob: Blob }> = [];
  for (const [name, file] of Object.entries(inputs)) {
    if (name === '' || name !== path.basename(name) || name.includes('\\')) {
      throw new ClusterError(
        'validation_failed',
        `input name ${JSON.stringify(name)} must be a plain file name (no folders)`,
        { details: [{ path: `inputs.${name}`, message: 'must be a plain file name' }] },
      );
    }
    const binding: Record<string, unknown> = {};
    if (file.node !== undefined) binding.node = file.node;
    if (file.input !== undefined) binding.input = file.input;
    const blob = await blobOf(name, file);
    if (blob) {
      if (Object.keys(binding).length === 0) files.push({ name, blob });
      else {
        const bytes = new Uint8Array(await blob.arrayBuffer());
        listed.push({ name, data: bytesToBase64(bytes), ...binding });
      }
    } else if ('data_url' in file) listed.push({ name, data: file.data_url, ...binding });
    else if ('url' in file) listed.push({ name, url: file.url, ...binding });
    else if ('hash' in file) listed.push({ name, hash: file.hash, ...binding });
  }
  if (listed.length > 0) json.inputs = listed;
  if (files.length === 0) return { json };
  const form = new FormData();
  form.append('json', JSON.stringify(json));
  for (const f of files) form.append('files', f.blob, f.name);
  return { form };
}
