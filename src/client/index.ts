/**
 * comfy-cluster's public TypeScript SDK (`comfy-cluster/client`): {@link ClusterClient} for the
 * gateway's REST API, its errors, the wire types and their TypeBox schemas, and the single-server
 * ComfyUI client re-exported from `comfy/`.
 *
 * @example
 * import { ClusterClient } from 'comfy-cluster/client';
 * const client = new ClusterClient({ url: 'http://127.0.0.1:8190' });
 * const job = await client.run({ workflow });
 */
export * from '../comfy/index.js';
export {
  ClusterClient,
  type ClusterClientOptions,
  DEFAULT_GATEWAY_URL,
  isTerminalJobEvent,
  type JobQuery,
  type OutputDownload,
  type WaitOptions,
} from './cluster-client.js';
export {
  AuthError,
  ClusterError,
  type ClusterErrorOptions,
  ClusterTimeoutError,
  GatewayUnreachableError,
} from './errors.js';
export { type SavedOutput, safeOutputName } from './output-files.js';
export * from './schemas.js';
export { type SseMessage, SseParser } from './sse.js';
export type { InputFile, SubmitRequest } from './submission.js';
export * from './types.js';
