/**
 * What the event stream needs from a client (where to connect and with which secret headers)
 * without making it public API. Not exported from index.ts.
 */
import type { ResolvedConnection } from './connection.js';

/** Keyed by ComfyClient instance. */
export const clientConnections = new WeakMap<object, ResolvedConnection>();
