import { JobError } from './errors.js';

/** Listing order: `newest` first (default) or `oldest` first. */
export type JobListOrder = 'newest' | 'oldest';

interface CursorData {
  v: 1;
  /** Queue sequence of the last job on the previous page. */
  s: number;
  o: JobListOrder;
}

/**
 * An opaque page cursor: the sequence number of the last job returned, which stays valid when new
 * jobs arrive (they get higher sequence numbers) or old ones are deleted.
 *
 * @example
 * const next = encodeJobCursor(1234, 'newest'); // 'eyJ2IjoxLCJzIjoxMjM0LCJvIjoibmV3ZXN0In0'
 */
export function encodeJobCursor(seq: number, order: JobListOrder): string {
  const data: CursorData = { v: 1, s: seq, o: order };
  return Buffer.from(JSON.stringify(data)).toString('base64url');
}

/**
 * Reads a cursor made by {@link encodeJobCursor}; a damaged one, or one made for the other order,
 * is refused with `QUERY_INVALID`.
 *
 * @example
 * decodeJobCursor(page.next_cursor, 'newest'); // 1234
 */
export function decodeJobCursor(cursor: string, order: JobListOrder): number {
  let data: unknown;
  try {
    data = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    data = undefined;
  }
  const c = data as Partial<CursorData> | undefined;
  if (c?.v !== 1 || typeof c.s !== 'number' || !Number.isInteger(c.s)) {
    throw new JobError('QUERY_INVALID', 'cursor is not one this server handed out');
  }
  if (c.o !== order) {
    throw new JobError('QUERY_INVALID', `cursor was made for order "${String(c.o)}"`);
  }
  return c.s;
}
