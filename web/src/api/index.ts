export { api, type InstanceAction, itemOf, type JobQuery, listOf } from './client.js';
export {
  ApiRequestError,
  apiUrl,
  configureApi,
  errorMessage,
  fieldErrorsOf,
  getApiKey,
  isNotAvailable,
  onApiKeyChange,
  onUnauthorized,
  request,
  setApiKey,
  toApiError,
} from './http.js';
export { openEventStream, type SseMessage, SseParser, type StreamState } from './sse.js';
export type * from './types.js';
export { INSTANCE_HEALTH_STATES, INSTANCE_STATUSES, JOB_STATUSES } from './types.js';
