/**
 * Webhooks: a job's `webhook_url` gets a signed POST when the job completes, fails or is
 * cancelled, retried with backoff; the state is kept in the job's event log.
 *
 * @example
 * import { WebhookSender, verifyWebhook } from './webhooks/index.js';
 */
export { loadWebhookSecret } from './webhook-secret.js';
export {
  type WebhookDelivery,
  WebhookSender,
  type WebhookSenderOptions,
} from './webhook-sender.js';
export {
  DELIVERY_HEADER,
  EVENT_HEADER,
  SIGNATURE_HEADER,
  signWebhook,
  TIMESTAMP_HEADER,
  verifyWebhook,
} from './webhook-signature.js';
