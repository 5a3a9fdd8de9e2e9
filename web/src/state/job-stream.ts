import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { type JobView, openEventStream, type StreamState } from '../api/index.js';
import { applyEvent, unwrapEvent } from './apply-event.js';
import { keys } from './query-keys.js';

/** One entry of a job's timeline. */
export interface TimelineEntry {
  key: string;
  type: string;
  at: string | number | null;
  summary: string;
}

/**
 * A readable line for a job event's payload: status, phase, progress, instance, error.
 *
 * @example
 * summarizeJobEvent({ job: { status: 'processing', phase: 'running', instance_id: 'gpu1' } }); // 'processing · running · on gpu1'
 */
export function summarizeJobEvent(data: unknown): string {
  if (!data || typeof data !== 'object') return '';
  const d = data as Record<string, unknown>;
  const j = (d.job && typeof d.job === 'object' ? d.job : d) as Record<string, unknown>;
  const parts: string[] = [];
  if (typeof j.status === 'string') parts.push(j.status);
  if (typeof j.phase === 'string') parts.push(j.phase.replaceAll('_', ' '));
  const p = (j.progress ?? d.progress) as { percent?: unknown; node?: unknown } | null | undefined;
  if (p && typeof p.percent === 'number') {
    parts.push(`${Math.round(p.percent)}%${typeof p.node === 'string' ? ` (node ${p.node})` : ''}`);
  }
  if (typeof j.instance_id === 'string') parts.push(`on ${j.instance_id}`);
  const e = j.error as { message?: unknown } | null | undefined;
  if (e && typeof e.message === 'string') parts.push(e.message);
  if (Array.isArray(d.outputs)) parts.push(`${d.outputs.length} output(s)`);
  return parts.join(' · ');
}

/**
 * Follows GET /api/v1/jobs/{id}/events (SSE): the timeline, and every event applied to the job's
 * caches so the page updates live. Progress ticks update the job but are folded in the timeline.
 */
export function useJobStream(id: string): { entries: TimelineEntry[]; state: StreamState } {
  const qc = useQueryClient();
  const [entries, setEntries] = useState<TimelineEntry[]>([]);
  const [state, setState] = useState<StreamState>('connecting');
  useEffect(() => {
    setEntries([]);
    const seen = new Set<string>();
    const stream = openEventStream({
      url: `/api/v1/jobs/${encodeURIComponent(id)}/events`,
      onState: setState,
      // The gateway ends a finished job's stream: nothing more will come.
      shouldReconnect: () => {
        const status = qc.getQueryData<JobView>(keys.job(id))?.status;
        return !(status === 'completed' || status === 'failed' || status === 'cancelled');
      },
      onMessage(msg) {
        let payload: unknown;
        try {
          payload = JSON.parse(msg.data);
        } catch {
          return;
        }
        const [name, data] = unwrapEvent(msg.event, payload);
        const eventName = name === 'message' ? 'event' : name;
        applyEvent(qc, eventName.startsWith('job') ? eventName : `job.${eventName}`, data);
        const key = msg.id ?? `${eventName}-${seen.size}`;
        if (seen.has(key)) return;
        seen.add(key);
        const env = payload as { time?: string; at?: string | number } | null;
        const entry: TimelineEntry = {
          key,
          type: eventName,
          at: env?.time ?? env?.at ?? new Date().toISOString(),
          summary: summarizeJobEvent(data),
        };
        setEntries((list) => {
          const last = list[list.length - 1];
          // Progress ticks replace each other instead of flooding the timeline.
          if (last && last.type === entry.type && entry.type.endsWith('progress')) {
            return [...list.slice(0, -1), entry];
          }
          return [...list, entry].slice(-500);
        });
      },
    });
    return () => stream.close();
  }, [id, qc]);
  return { entries, state };
}
