import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useMemo, useRef, useState } from 'react';
import {
  errorMessage,
  INSTANCE_HEALTH_STATES,
  INSTANCE_STATUSES,
  type InstanceView,
} from '../../api/index.js';
import { HealthBadge, StatusBadge } from '../../components/badges.js';
import { TableBox, Td, Th, Tr } from '../../components/grid-table.js';
import { VirtualList } from '../../components/virtual-list.js';
import { useActiveJobs } from '../../state/jobs-queries.js';
import { healthOf, useHealthMap, useInstances } from '../../state/queries.js';
import { keys } from '../../state/query-keys.js';
import { navigate } from '../../state/router.js';
import { InstanceActions } from './instance-actions.js';
import { InstanceCard } from './instance-card.js';
import { InstanceDetails } from './instance-details.js';
import { InstanceEditor } from './instance-editor.js';
import { allTags, filterInstances, type InstanceFilter, NO_FILTER } from './instance-filter.js';

const CARD_HEIGHT = 330;
const CARD_MIN_WIDTH = 300;
const VIEW_STORAGE = 'comfy-cluster.instances-view';

function useColumns(ref: React.RefObject<HTMLElement | null>): number {
  const [cols, setCols] = useState(3);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const measure = () =>
      setCols(Math.max(1, Math.floor((el.clientWidth || 900) / CARD_MIN_WIDTH)));
    measure();
    if (typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, [ref]);
  return cols;
}

/** Instances: a grid of cards or a compact table, search and filters, details, the editor. */
export function InstancesPage({ selectedId }: { selectedId: string | null }) {
  const qc = useQueryClient();
  const instances = useInstances();
  const health = useHealthMap();
  const { byInstance } = useActiveJobs();
  const [filter, setFilter] = useState<InstanceFilter>(NO_FILTER);
  const [view, setView] = useState<'cards' | 'table'>(() => {
    try {
      return localStorage.getItem(VIEW_STORAGE) === 'table' ? 'table' : 'cards';
    } catch {
      return 'cards';
    }
  });
  const [editor, setEditor] = useState<{ instance: InstanceView | null } | null>(null);
  const [autoRefresh, setAutoRefresh] = useState(true);
  const gridRef = useRef<HTMLDivElement>(null);
  const cols = useColumns(gridRef);

  const list = instances.data ?? [];
  const shown = useMemo(() => filterInstances(list, health, filter), [list, health, filter]);
  const tags = useMemo(() => allTags(list), [list]);
  const selected = selectedId ? (list.find((i) => i.id === selectedId) ?? null) : null;

  // The table view polls as a fallback to live events (seed 000's "auto refresh").
  useEffect(() => {
    if (view !== 'table' || !autoRefresh) return;
    const t = setInterval(() => {
      void qc.invalidateQueries({ queryKey: keys.instances });
      void qc.invalidateQueries({ queryKey: keys.health });
    }, 5_000);
    return () => clearInterval(t);
  }, [view, autoRefresh, qc]);

  const setViewSaved = (v: 'cards' | 'table') => {
    setView(v);
    try {
      localStorage.setItem(VIEW_STORAGE, v);
    } catch {
      // ignore
    }
  };

  const rows = useMemo(() => {
    const out: InstanceView[][] = [];
    for (let i = 0; i < shown.length; i += cols) out.push(shown.slice(i, i + cols));
    return out;
  }, [shown, cols]);

  const select = (id: string | null) =>
    navigate(id ? `/instances/${encodeURIComponent(id)}` : '/instances');

  return (
    <section className="page instances-page" aria-labelledby="instances-title">
      <div className="page-head">
        <h1 id="instances-title">Instances</h1>
        <span className="muted" aria-live="polite">
          {shown.length === list.length ? `${list.length}` : `${shown.length} of ${list.length}`}{' '}
          instances
        </span>
        <span className="spacer" />
        <button type="button" className="primary" onClick={() => setEditor({ instance: null })}>
          Add instance
        </button>
      </div>
      <search className="toolbar" aria-label="Filter instances">
        <label className="field inline">
          <span>Search</span>
          <input
            type="search"
            value={filter.text}
            placeholder="name, host, tag…"
            onChange={(e) => setFilter({ ...filter, text: e.target.value })}
          />
        </label>
        <label className="field inline">
          <span>Status</span>
          <select
            value={filter.status}
            onChange={(e) =>
              setFilter({ ...filter, status: e.target.value as InstanceFilter['status'] })
            }
          >
            <option value="">any</option>
            {INSTANCE_STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label className="field inline">
          <span>Health</span>
          <select
            value={filter.health}
            onChange={(e) =>
              setFilter({ ...filter, health: e.target.value as InstanceFilter['health'] })
            }
          >
            <option value="">any</option>
            {INSTANCE_HEALTH_STATES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label className="field inline">
          <span>Tag</span>
          <select
            value={filter.tag}
            onChange={(e) => setFilter({ ...filter, tag: e.target.value })}
          >
            <option value="">any</option>
            {tags.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        <fieldset className="segmented">
          <legend className="sr-only">View</legend>
          <button
            type="button"
            aria-pressed={view === 'cards'}
            onClick={() => setViewSaved('cards')}
          >
            Cards
          </button>
          <button
            type="button"
            aria-pressed={view === 'table'}
            onClick={() => setViewSaved('table')}
          >
            Table
          </button>
        </fieldset>
        {view === 'table' && (
          <label className="check">
            <input
              type="checkbox"
              checked={autoRefresh}
              onChange={(e) => setAutoRefresh(e.target.checked)}
            />
            Auto refresh
          </label>
        )}
      </search>
      {instances.error && (
        <p className="error-text" role="alert">
          Could not load instances: {errorMessage(instances.error)}
        </p>
      )}
      <div className={`split ${selected ? 'with-details' : ''}`}>
        <div className="split-main" ref={gridRef}>
          {instances.isPending ? (
            <p className="muted">Loading…</p>
          ) : shown.length === 0 ? (
            <p className="muted">
              {list.length === 0
                ? 'No instances yet. Add one to get started.'
                : 'No instance matches the filter.'}
            </p>
          ) : view === 'cards' ? (
            <VirtualList
              label="Instance cards"
              items={rows}
              rowHeight={CARD_HEIGHT}
              overscan={2}
              getKey={(row) => row.map((i) => i.id).join('|')}
              renderRow={(row) => (
                <div
                  className="card-row"
                  style={{ gridTemplateColumns: `repeat(${cols}, minmax(0, 1fr))` }}
                >
                  {row.map((i) => (
                    <InstanceCard
                      key={i.id}
                      instance={i}
                      health={healthOf(health, i)}
                      jobs={byInstance.get(i.id) ?? []}
                      selected={selected?.id === i.id}
                      onSelect={() => select(selected?.id === i.id ? null : i.id)}
                      onEdit={() => setEditor({ instance: i })}
                    />
                  ))}
                </div>
              )}
            />
          ) : (
            <TableBox label="Instances" rowCount={shown.length + 1}>
              <Tr header>
                <Th>Server</Th>
                <Th>Status</Th>
                <Th>Queue</Th>
                <Th>Processing</Th>
                <Th>Response time</Th>
                <Th>Actions</Th>
              </Tr>
              <VirtualList
                label="Instance rows"
                items={shown}
                rowHeight={44}
                getKey={(i) => i.id}
                renderRow={(i) => {
                  const h = healthOf(health, i);
                  const job = byInstance.get(i.id)?.[0];
                  const ms = h?.response_ms?.last ?? h?.latency_ms ?? null;
                  return (
                    <Tr data={{ 'data-instance': i.id, 'data-health': h?.health ?? 'unknown' }}>
                      <Td>
                        <button type="button" className="link" onClick={() => select(i.id)}>
                          {i.name}
                        </button>{' '}
                        <span className="muted small">
                          {i.host}:{i.port}
                        </span>
                      </Td>
                      <Td className="badges">
                        <StatusBadge status={i.status} />
                        <HealthBadge health={h?.health ?? 'unknown'} />
                      </Td>
                      <Td>{h?.queue ? `${h.queue.running + h.queue.pending}` : '—'}</Td>
                      <Td>
                        {job
                          ? `${Math.round(job.progress?.percent ?? 0)}%`
                          : h?.queue
                            ? h.queue.running > 0
                              ? 'yes'
                              : 'no'
                            : '—'}
                      </Td>
                      <Td>{ms === null ? '—' : `${Math.round(ms)} ms`}</Td>
                      <Td>
                        <InstanceActions
                          instance={i}
                          onEdit={() => setEditor({ instance: i })}
                          compact
                        />
                      </Td>
                    </Tr>
                  );
                }}
              />
            </TableBox>
          )}
        </div>
        {selected && (
          <InstanceDetails
            instance={selected}
            health={healthOf(health, selected)}
            onClose={() => select(null)}
          />
        )}
      </div>
      {editor && <InstanceEditor instance={editor.instance} onClose={() => setEditor(null)} />}
    </section>
  );
}
