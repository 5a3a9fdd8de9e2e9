import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useId, useRef, useState } from 'react';
import { api, errorMessage, type InstanceView } from '../api/index.js';
import type { HealthMap } from '../state/apply-event.js';
import { healthOf as healthOfInstance } from '../state/health.js';
import { keys } from '../state/query-keys.js';
import { HealthDot } from './badges.js';
import { toast } from './toasts.js';

/**
 * The instance a Ctrl/Cmd+1..9 key press selects (the n-th in the list), or null.
 *
 * @example
 * shortcutTarget({ key: '2', ctrlKey: true, metaKey: false, altKey: false, shiftKey: false }, list); // list[1].id
 */
export function shortcutTarget(
  e: Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'altKey' | 'shiftKey'>,
  instances: readonly Pick<InstanceView, 'id'>[],
): string | null {
  if (!(e.ctrlKey || e.metaKey) || e.altKey || e.shiftKey) return null;
  if (!/^[1-9]$/.test(e.key)) return null;
  return instances[Number(e.key) - 1]?.id ?? null;
}

/** Makes `id` the active instance: optimistic in the cache, then the API; undone on failure. */
export async function switchActive(
  qc: ReturnType<typeof useQueryClient>,
  id: string,
): Promise<void> {
  const before = qc.getQueryData<InstanceView[]>(keys.instances);
  qc.setQueryData<InstanceView[]>(keys.instances, (list) =>
    list?.map((x) => ({ ...x, active: x.id === id })),
  );
  try {
    await api.instances.activate(id);
  } catch (error) {
    qc.setQueryData(keys.instances, before);
    toast(`Could not switch the active instance: ${errorMessage(error)}`, 'error');
  }
}

const isMac = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform);

/**
 * Top-bar switcher of the active instance: every instance with its health, the current one
 * marked; Ctrl/Cmd+1..9 switch from anywhere.
 */
export function InstanceSwitcher(props: { instances: InstanceView[]; health: HealthMap }) {
  const qc = useQueryClient();
  const [open, setOpen] = useState(false);
  const listId = useId();
  const buttonRef = useRef<HTMLButtonElement>(null);
  const listRef = useRef<HTMLDivElement>(null);
  const { instances } = props;
  const active = instances.find((i) => i.active) ?? null;
  const healthOf = (i: InstanceView) => healthOfInstance(props.health, i).health;

  const listRefInstances = useRef(instances);
  listRefInstances.current = instances;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const id = shortcutTarget(e, listRefInstances.current);
      if (!id) return;
      e.preventDefault();
      const name = listRefInstances.current.find((i) => i.id === id)?.name ?? id;
      void switchActive(qc, id).then(() => toast(`Active instance: ${name}`));
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [qc]);

  useEffect(() => {
    if (!open) return;
    const el =
      listRef.current?.querySelector<HTMLElement>('[aria-selected="true"]') ??
      listRef.current?.querySelector<HTMLElement>('[role="option"]');
    el?.focus();
  }, [open]);

  const choose = (id: string) => {
    setOpen(false);
    buttonRef.current?.focus();
    void switchActive(qc, id);
  };

  const onListKey = (e: React.KeyboardEvent) => {
    const opts = [...(listRef.current?.querySelectorAll<HTMLElement>('[role="option"]') ?? [])];
    const i = opts.indexOf(document.activeElement as HTMLElement);
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      opts[Math.min(opts.length - 1, i + 1)]?.focus();
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      opts[Math.max(0, i - 1)]?.focus();
    } else if (e.key === 'Home') {
      e.preventDefault();
      opts[0]?.focus();
    } else if (e.key === 'End') {
      e.preventDefault();
      opts[opts.length - 1]?.focus();
    } else if (e.key === 'Escape' || e.key === 'Tab') {
      setOpen(false);
      if (e.key === 'Escape') buttonRef.current?.focus();
    }
  };

  return (
    <div className="switcher">
      <button
        ref={buttonRef}
        type="button"
        className="switcher-button"
        aria-haspopup="listbox"
        aria-expanded={open}
        aria-controls={listId}
        aria-label={`Active instance: ${active ? `${active.name} (${healthOf(active)})` : 'none'}. Change`}
        onClick={() => setOpen((o) => !o)}
        data-testid="active-instance"
      >
        {active ? <HealthDot health={healthOf(active)} /> : null}
        <span className="switcher-name">{active ? active.name : 'No active instance'}</span>
        <span aria-hidden="true">▾</span>
      </button>
      {open && (
        <div
          ref={listRef}
          id={listId}
          role="listbox"
          aria-label="Instances"
          className="switcher-list"
          onKeyDown={onListKey}
          onBlur={(e) => {
            if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setOpen(false);
          }}
        >
          {instances.length === 0 && <div className="muted">No instances</div>}
          {instances.map((i, n) => (
            <div
              key={i.id}
              role="option"
              aria-selected={i.active}
              tabIndex={-1}
              onClick={() => choose(i.id)}
              onKeyDown={(e) => {
                if (e.key === 'Enter' || e.key === ' ') {
                  e.preventDefault();
                  choose(i.id);
                }
              }}
            >
              <HealthDot health={healthOf(i)} />
              <span className="switcher-item-name">{i.name}</span>
              <span className="muted small">
                {i.host}:{i.port}
              </span>
              {i.active && (
                <span className="check">
                  <span aria-hidden="true">✓</span>
                  <span className="sr-only">current</span>
                </span>
              )}
              {n < 9 && (
                <kbd
                  className="small"
                  aria-label={`shortcut ${isMac ? 'Command' : 'Control'} ${n + 1}`}
                >
                  {isMac ? '⌘' : 'Ctrl+'}
                  {n + 1}
                </kbd>
              )}
            </div>
          ))}
        </div>
      )}
    </div>
  );
}
