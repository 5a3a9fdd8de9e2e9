import { useSyncExternalStore } from 'react';

/**
 * A tiny History API router: the path is the state. The gateway serves index.html for every
 * non-API path, so deep links (/jobs/<id>) load the app.
 */

const listeners = new Set<() => void>();

function notify(): void {
  for (const fn of listeners) fn();
}

if (typeof window !== 'undefined') window.addEventListener('popstate', notify);

/** Goes to `to` (path + optional query) without a reload. */
export function navigate(to: string, replace = false): void {
  if (to === currentLocation()) return;
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  notify();
}

function currentLocation(): string {
  return `${location.pathname}${location.search}`;
}

function subscribe(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** The current path and query, re-rendering on navigation. */
export function useLocation(): { path: string; search: URLSearchParams } {
  const loc = useSyncExternalStore(subscribe, currentLocation, () => '/');
  const q = loc.indexOf('?');
  return {
    path: q < 0 ? loc : loc.slice(0, q),
    search: new URLSearchParams(q < 0 ? '' : loc.slice(q)),
  };
}

export type Route =
  | { page: 'overview' }
  | { page: 'instances'; id: string | null }
  | { page: 'jobs' }
  | { page: 'job'; id: string }
  | { page: 'submit' }
  | { page: 'not-found' };

/**
 * The route of a path.
 *
 * @example
 * matchRoute('/jobs/123'); // { page: 'job', id: '123' }
 */
export function matchRoute(path: string): Route {
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const [a, b] = parts;
  if (!a || a === 'overview') return { page: 'overview' };
  if (a === 'instances') return { page: 'instances', id: b ?? null };
  if (a === 'jobs' && b === 'new') return { page: 'submit' };
  if (a === 'jobs' && b) return { page: 'job', id: b };
  if (a === 'jobs') return { page: 'jobs' };
  return { page: 'not-found' };
}
