import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header with the signature: `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`. */
export const SIGNATURE_HEADER = 'x-comfycluster-signature';
/** Header with the Unix time (seconds) the delivery was signed at. */
export const TIMESTAMP_HEADER = 'x-comfycluster-timestamp';
/** Header naming the event (`job.completed`, `job.failed`, `job.cancelled`). */
export const EVENT_HEADER = 'x-comfycluster-event';
/** Header with the delivery id (the same on every retry of one delivery). */
export const DELIVERY_HEADER = 'x-comfycluster-delivery';

/**
 * The signature of a webhook body: `sha256=` + hex HMAC-SHA256 over `${timestamp}.${body}`.
 *
 * @example
 * signWebhook('secret', 1700000000, '{"event":"job.completed"}'); // 'sha256=…'
 */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * Checks a received webhook: the signature matches and the timestamp is within `toleranceS`
 * seconds of now (default 300), which stops replays of old deliveries.
 *
 * @example
 * verifyWebhook('secret', req.headers['x-comfycluster-timestamp'], req.headers['x-comfycluster-signature'], rawBody);
 */
export function verifyWebhook(
  secret: string,
  timestamp: string | undefined,
  signature: string | undefined,
  body: string,
  options: { toleranceS?: number; nowS?: number } = {},
): boolean {
  if (!timestamp || !signature || !/^\d+$/.test(timestamp)) return false;
  const now = options.nowS ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(timestamp)) > (options.toleranceS ?? 300)) return false;
  const expected = Buffer.from(signWebhook(secret, Number(timestamp), body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
