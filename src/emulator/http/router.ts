/**
 * A tiny router resolving paths the way ComfyUI's aiohttp app does: every route also under /api
 * (except /internal), GET routes answer HEAD, and the web root's static route catches everything
 * else (GET/HEAD → 404, other methods → 405 with "Allow: GET,HEAD").
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  /** Raw path (still percent-encoded). */
  path: string;
  query: URLSearchParams;
  /** Decoded path parameters. */
  params: Record<string, string>;
  /** The whole body, bounded by the upload limit (throws BodyTooLargeError). */
  body(): Promise<Buffer>;
}

export type Handler = (ctx: RequestContext) => void | Promise<void>;

interface Route {
  template: string;
  segments: string[];
  methods: Map<string, Handler>;
  mirror: boolean;
}

export type Resolution =
  | { kind: 'route'; handler: Handler; params: Record<string, string>; template: string }
  | { kind: 'error'; status: 404 | 405; allow?: string };

/**
 * @example
 * const router = new Router();
 * router.add('GET', '/history/{prompt_id}', handler);
 * router.resolve('GET', '/api/history/abc'); // the same handler, params { prompt_id: 'abc' }
 */
export class Router {
  private readonly exact = new Map<string, Route>();
  private readonly dynamic: Route[] = [];
  /** Dynamic routes by their first path segment ("history" for /history/{prompt_id}). */
  private readonly byFirst = new Map<string, Route[]>();

  /** Registers a route; `mirror: false` keeps it off /api (ComfyUI's /internal sub-app). */
  add(
    method: string,
    template: string,
    handler: Handler,
    options: { mirror?: boolean } = {},
  ): void {
    const segments = template.split('/');
    const isDynamic = segments.some((s) => s.startsWith('{'));
    let route = isDynamic
      ? this.dynamic.find((r) => r.template === template)
      : this.exact.get(template);
    if (route === undefined) {
      route = { template, segments, methods: new Map(), mirror: options.mirror ?? true };
      if (isDynamic) {
        this.dynamic.push(route);
        const first = segments[1] ?? '';
        const key = first.startsWith('{') ? '*' : first;
        this.byFirst.set(key, [...(this.byFirst.get(key) ?? []), route]);
      } else {
        this.exact.set(template, route);
      }
    }
    route.methods.set(method, handler);
    if (method === 'GET' && !route.methods.has('HEAD')) route.methods.set('HEAD', handler);
  }

  resolve(method: string, path: string): Resolution {
    // Fast path: a registered path and method (no Allow set to collect).
    const route = this.exact.get(path);
    const handler = route?.methods.get(method);
    if (route !== undefined && handler !== undefined) {
      return { kind: 'route', handler, params: {}, template: route.template };
    }
    const allowed = new Set<string>();
    const direct = this.match(method, path, false, allowed);
    if (direct !== undefined) return direct;
    if (path.startsWith('/api/')) {
      const mirrored = this.match(method, path.slice(4), true, allowed);
      if (mirrored !== undefined) return mirrored;
    }
    if (method === 'GET' || method === 'HEAD') return { kind: 'error', status: 404 };
    allowed.add('GET');
    allowed.add('HEAD');
    return { kind: 'error', status: 405, allow: [...allowed].sort().join(',') };
  }

  private match(
    method: string,
    path: string,
    mirroredOnly: boolean,
    allowed: Set<string>,
  ): Resolution | undefined {
    const route = this.exact.get(path);
    if (route !== undefined && (!mirroredOnly || route.mirror)) {
      const handler = route.methods.get(method);
      if (handler !== undefined)
        return { kind: 'route', handler, params: {}, template: route.template };
      for (const m of route.methods.keys()) allowed.add(m);
    }
    const segments = path.split('/');
    for (const group of [this.byFirst.get(segments[1] ?? ''), this.byFirst.get('*')]) {
      if (group === undefined) continue;
      for (const candidate of group) {
        if (mirroredOnly && !candidate.mirror) continue;
        const params = matchSegments(candidate.segments, segments);
        if (params === undefined) continue;
        const handler = candidate.methods.get(method);
        if (handler !== undefined) {
          return { kind: 'route', handler, params, template: candidate.template };
        }
        for (const m of candidate.methods.keys()) allowed.add(m);
      }
    }
    return undefined;
  }
}

function matchSegments(template: string[], path: string[]): Record<string, string> | undefined {
  if (template.length !== path.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < template.length; i++) {
    const t = template[i] as string;
    const p = path[i] as string;
    if (t.startsWith('{')) {
      if (p === '') return undefined;
      let value: string;
      try {
        value = decodeURIComponent(p);
      } catch {
        value = p;
      }
      params[t.slice(1, -1)] = value;
    } else if (t !== p) {
      return undefined;
    }
  }
  return params;
}
