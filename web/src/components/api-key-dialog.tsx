import { useState } from 'react';
import { setApiKey } from '../api/index.js';
import { Dialog } from './dialog.js';

/** Asks for the gateway's API key (kept in localStorage, sent as a Bearer token). */
export function ApiKeyDialog(props: {
  onDone: () => void;
  onCancel: () => void;
  rejected: boolean;
}) {
  const [key, setKey] = useState('');
  return (
    <Dialog title="API key required" onClose={props.onCancel} initialFocus="#api-key-input">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (!key.trim()) return;
          setApiKey(key.trim());
          props.onDone();
        }}
      >
        <p>This gateway requires an API key. It is stored in this browser only.</p>
        {props.rejected && (
          <p className="error-text" role="alert">
            The gateway did not accept the key.
          </p>
        )}
        <label className="field">
          <span>API key</span>
          <input
            id="api-key-input"
            type="password"
            autoComplete="off"
            value={key}
            onChange={(e) => setKey(e.target.value)}
            required
          />
        </label>
        <div className="row end">
          <button type="button" onClick={props.onCancel}>
            Cancel
          </button>
          <button type="submit" className="primary">
            Save key
          </button>
        </div>
      </form>
    </Dialog>
  );
}
