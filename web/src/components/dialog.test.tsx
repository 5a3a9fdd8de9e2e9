import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { useState } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfirmDialog, Dialog } from './dialog.js';

afterEach(cleanup);

function Harness() {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" onClick={() => setOpen(true)}>
        Open
      </button>
      {open && (
        <Dialog title="Edit" onClose={() => setOpen(false)} initialFocus="#name">
          <input id="name" aria-label="Name" />
          <button type="button">Save</button>
        </Dialog>
      )}
    </>
  );
}

describe('Dialog', () => {
  it('moves focus in, traps Tab in both directions, closes on Escape and gives focus back', () => {
    render(<Harness />);
    const opener = screen.getByRole('button', { name: 'Open' });
    opener.focus();
    fireEvent.click(opener);
    const dialog = screen.getByRole('dialog', { name: 'Edit' });
    expect(dialog.getAttribute('aria-modal')).toBe('true');
    expect(document.activeElement).toBe(screen.getByLabelText('Name'));

    const close = screen.getByRole('button', { name: 'Close' });
    const save = screen.getByRole('button', { name: 'Save' });
    // Tab order: Close, Name, Save. Tab on the last wraps to the first, Shift+Tab the other way.
    save.focus();
    fireEvent.keyDown(save, { key: 'Tab' });
    expect(document.activeElement).toBe(close);
    fireEvent.keyDown(close, { key: 'Tab', shiftKey: true });
    expect(document.activeElement).toBe(save);

    fireEvent.keyDown(save, { key: 'Escape' });
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(document.activeElement).toBe(opener);
  });

  it('focuses Cancel first in a confirmation, so Enter does not delete', () => {
    let confirmed = 0;
    let cancelled = 0;
    render(
      <ConfirmDialog
        title="Delete gpu1?"
        message="It will be removed."
        confirmLabel="Delete"
        onConfirm={() => confirmed++}
        onCancel={() => cancelled++}
      />,
    );
    expect(screen.getByRole('alertdialog', { name: 'Delete gpu1?' })).toBeTruthy();
    expect(document.activeElement).toBe(screen.getByRole('button', { name: 'Cancel' }));
    fireEvent.click(screen.getByRole('button', { name: 'Delete' }));
    expect(confirmed).toBe(1);
    fireEvent.keyDown(document.activeElement!, { key: 'Escape' });
    expect(cancelled).toBe(1);
  });
});
