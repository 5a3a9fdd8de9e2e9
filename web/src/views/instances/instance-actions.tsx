import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, errorMessage, type InstanceAction, type InstanceView } from '../../api/index.js';
import { ConfirmDialog } from '../../components/dialog.js';
import { toast } from '../../components/toasts.js';
import { formatBytes } from '../../state/format.js';
import { keys } from '../../state/query-keys.js';
import { actionsFor } from './instance-filter.js';

const LABEL: Record<InstanceAction, string> = {
  start: 'Start',
  stop: 'Stop',
  pause: 'Pause',
  resume: 'Resume',
};

/**
 * Quick actions of one instance: lifecycle (by status), test, edit, delete (asks first).
 * Buttons are labelled with the instance name for screen readers.
 */
export function InstanceActions(props: {
  instance: InstanceView;
  onEdit: () => void;
  compact?: boolean;
}) {
  const qc = useQueryClient();
  const i = props.instance;
  const [busy, setBusy] = useState<string | null>(null);
  const [confirm, setConfirm] = useState(false);

  const run = async (action: InstanceAction) => {
    setBusy(action);
    try {
      const view = await api.instances.action(i.id, action);
      if (view?.id) {
        qc.setQueryData<InstanceView[]>(keys.instances, (list) =>
          list?.map((x) => (x.id === view.id ? { ...x, ...view } : x)),
        );
      }
    } catch (error) {
      toast(`${LABEL[action]} ${i.name}: ${errorMessage(error)}`, 'error');
    } finally {
      setBusy(null);
    }
  };

  const test = async () => {
    setBusy('test');
    try {
      const r = await api.instances.test(i.id);
      if (r.ok) {
        const d = r.devices[0];
        toast(
          `${i.name}: ComfyUI ${r.comfyui_version}, ${Math.round(r.round_trip_ms)} ms${
            d ? `, ${d.name} ${formatBytes(d.vram_free)} free` : ''
          }`,
        );
      } else toast(`${i.name}: ${r.kind} — ${r.message}`, 'error');
    } catch (error) {
      toast(`Test ${i.name}: ${errorMessage(error)}`, 'error');
    } finally {
      setBusy(null);
    }
  };

  const remove = async () => {
    setBusy('delete');
    try {
      await api.instances.remove(i.id);
      qc.setQueryData<InstanceView[]>(keys.instances, (list) => list?.filter((x) => x.id !== i.id));
      toast(`Deleted ${i.name}`);
      setConfirm(false);
    } catch (error) {
      toast(`Delete ${i.name}: ${errorMessage(error)}`, 'error');
      setConfirm(false);
    } finally {
      setBusy(null);
    }
  };

  return (
    <div className="actions">
      {actionsFor(i.status).map((a) => (
        <button
          key={a}
          type="button"
          disabled={busy !== null}
          onClick={() => void run(a)}
          aria-label={`${LABEL[a]} ${i.name}`}
          data-action={a}
        >
          {busy === a ? '…' : LABEL[a]}
        </button>
      ))}
      <button
        type="button"
        disabled={busy !== null}
        onClick={() => void test()}
        aria-label={`Test connection to ${i.name}`}
        data-action="test"
      >
        {busy === 'test' ? 'Testing…' : 'Test'}
      </button>
      <button type="button" onClick={props.onEdit} aria-label={`Edit ${i.name}`} data-action="edit">
        Edit
      </button>
      <button
        type="button"
        className="danger-text"
        disabled={busy !== null || i.source === 'env'}
        onClick={() => setConfirm(true)}
        aria-label={`Delete ${i.name}`}
        data-action="delete"
        title={i.source === 'env' ? 'Defined in the environment; remove it there' : undefined}
      >
        Delete
      </button>
      {confirm && (
        <ConfirmDialog
          title={`Delete ${i.name}?`}
          message={`${i.name} (${i.host}:${i.port}) will be removed from the cluster. Jobs running there are not stopped.`}
          confirmLabel="Delete"
          busy={busy === 'delete'}
          onCancel={() => setConfirm(false)}
          onConfirm={() => void remove()}
        />
      )}
    </div>
  );
}
