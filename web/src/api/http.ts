import type { FieldError } from './types.js';

let baseUrl = '';

/**
 * Where the gateway is: '' (the default) means the page's own origin, which is how the gateway
 * serves the dashboard. Tests and embedders point it elsewhere.
 *
 * @example
 * configureApi({ baseUrl: 'http://127.0.0.1:8190' });
 */
export function configureApi(options: { baseUrl: string }): void {
  baseUrl = options.baseUrl.replace(/\/+$/, '');
}

/** The absolute or page-relative URL of a gateway path. */
export function apiUrl(path: string): string {
  return /^https?:\/\//.test(path) ? path : `${baseUrl}${path}`;
}

/** localStorage key of the API key the user entered. */
export const API_KEY_STORAGE = 'comfy-cluster.api-key';

/** Reads the stored API key (null when none or storage is unavailable). */
export function getApiKey(): string | null {
  try {
    return globalThis.localStorage?.getItem(API_KEY_STORAGE) || null;
  } catch {
    return null;
  }
}

/** Stores (or with null, forgets) the API key; listeners hear about it. */
export function setApiKey(key: string | null): void {
  try {
    if (key) globalThis.localStorage?.setItem(API_KEY_STORAGE, key);
    else globalThis.localStorage?.removeItem(API_KEY_STORAGE);
  } catch {
    // private mode: the key lives for this page only
  }
  for (const fn of keyListeners) fn(key);
}

const keyListeners = new Set<(key: string | null) => void>();

/** Calls `fn` whenever the key changes; returns the unsubscribe function. */
export function onApiKeyChange(fn: (key: string | null) => void): () => void {
  keyListeners.add(fn);
  return () => keyListeners.delete(fn);
}

/**
 * An API call that did not succeed: the gateway's `{ error: { code, message, details } }` or a
 * network failure (status 0), with a message fit to show a user.
 *
 * @example
 * try { await api.instances.create(body); } catch (e) { if (e instanceof ApiRequestError) show(e.message); }
 */
export class ApiRequestError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;

  constructor(status: number, code: string, message: string, details: unknown = null) {
    super(message);
    this.name = 'ApiRequestError';
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** Field problems from `details` (validation failures), [] when there are none. */
  get fieldErrors(): FieldError[] {
    return fieldErrorsOf(this.details);
  }
}

/**
 * Field errors from an error's `details`: an array of `{path, message}`, or an object holding
 * one under `errors`.
 *
 * @example
 * fieldErrorsOf([{ path: 'port', message: 'must be between 1 and 65535' }]); // one FieldError
 */
export function fieldErrorsOf(details: unknown): FieldError[] {
  const list = Array.isArray(details)
    ? details
    : details &&
        typeof details === 'object' &&
        Array.isArray((details as { errors?: unknown }).errors)
      ? (details as { errors: unknown[] }).errors
      : [];
  const out: FieldError[] = [];
  for (const item of list) {
    if (item && typeof item === 'object') {
      const { path, message } = item as { path?: unknown; message?: unknown };
      if (typeof message === 'string') {
        out.push({ path: typeof path === 'string' ? path : '', message });
      }
    }
  }
  return out;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'the request was not accepted',
  401: 'an API key is required',
  403: 'this API key may not do that',
  404: 'not found',
  409: 'not possible right now',
  413: 'the upload is too large',
  429: 'too many requests; try again shortly',
  500: 'the gateway failed',
  501: 'not available on this gateway',
  502: 'the instance did not answer properly',
  503: 'the gateway is not ready',
  504: 'the instance did not answer in time',
};

/**
 * Turns an HTTP answer into an {@link ApiRequestError}. Accepts the native error shape, ComfyUI's
 * `{error: {type, message}}`, plain text, or nothing.
 *
 * @example
 * toApiError(400, { error: { code: 'validation_failed', message: 'port ...', details: [] } });
 */
export function toApiError(status: number, body: unknown, fallbackText = ''): ApiRequestError {
  if (body && typeof body === 'object' && 'error' in body) {
    const err = (body as { error: unknown }).error;
    if (err && typeof err === 'object') {
      const e = err as { code?: unknown; type?: unknown; message?: unknown; details?: unknown };
      const code =
        typeof e.code === 'string'
          ? e.code
          : typeof e.type === 'string'
            ? e.type
            : `http_${status}`;
      const message =
        typeof e.message === 'string' && e.message.trim() !== ''
          ? e.message
          : (STATUS_TEXT[status] ?? `HTTP ${status}`);
      return new ApiRequestError(status, code, message, e.details ?? null);
    }
    if (typeof err === 'string') return new ApiRequestError(status, `http_${status}`, err);
  }
  const text = fallbackText.trim();
  const message =
    text && text.length < 300 && !text.startsWith('<')
      ? text
      : (STATUS_TEXT[status] ?? `the gateway answered HTTP ${status}`);
  return new ApiRequestError(status, `http_${status}`, message);
}

/** Listeners told about every 401 (the shell asks for a key). */
const unauthorizedListeners = new Set<() => void>();

/** Calls `fn` whenever the gateway answers 401. */
export function onUnauthorized(fn: () => void): () => void {
  unauthorizedListeners.add(fn);
  return () => unauthorizedListeners.delete(fn);
}

export interface RequestOptions {
  method?: string;
  /** JSON body (objects) or FormData. */
  body?: unknown;
  query?: Record<string, string | number | boolean | readonly string[] | undefined | null>;
  signal?: AbortSignal;
}

/** The path with its query string; arrays repeat the parameter, empty values are left out. */
export function withQuery(path: string, query: RequestOptions['query']): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) for (const x of v) params.append(k, String(x));
    else params.append(k, String(v));
  }
  const qs = params.toString();
  return qs ? `${path}${path.includes('?') ? '&' : '?'}${qs}` : path;
}

/** Headers every call sends: the API key as a Bearer token when one is stored. */
export function authHeaders(): Record<string, string> {
  const key = getApiKey();
  return key ? { authorization: `Bearer ${key}` } : {};
}

/**
 * One JSON call to the gateway. Resolves with the parsed body (undefined for 204), rejects with
 * {@link ApiRequestError} carrying a readable message.
 *
 * @example
 * const list = await request<{ instances: InstanceView[] }>('/api/v1/instances');
 */
export async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...authHeaders() };
  let body: BodyInit | undefined;
  if (options.body instanceof FormData) body = options.body;
  else if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  let res: Response;
  try {
    res = await fetch(apiUrl(withQuery(path, options.query)), {
      method: options.method ?? (body === undefined ? 'GET' : 'POST'),
      headers,
      ...(body === undefined ? {} : { body }),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    if ((error as { name?: string })?.name === 'AbortError') throw error;
    throw new ApiRequestError(
      0,
      'network_error',
      'the gateway cannot be reached (network error)',
      String(error),
    );
  }
  const text = await res.text();
  let parsed: unknown;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }
  if (!res.ok) {
    if (res.status === 401) for (const fn of unauthorizedListeners) fn();
    throw toApiError(res.status, parsed, text);
  }
  return parsed as T;
}

/** A readable message for anything thrown. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiRequestError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}

/** True when the route does not exist on this gateway (older gateway, feature not built). */
export function isNotAvailable(error: unknown): boolean {
  return error instanceof ApiRequestError && (error.status === 404 || error.status === 501);
}
