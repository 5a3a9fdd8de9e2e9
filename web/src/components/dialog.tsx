import { type ReactNode, useEffect, useId, useRef } from 'react';

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/** The focusable elements inside `root`, in tab order. */
export function focusables(root: HTMLElement): HTMLElement[] {
  return [...root.querySelectorAll<HTMLElement>(FOCUSABLE)].filter(
    (el) => !el.hasAttribute('inert') && el.getAttribute('aria-hidden') !== 'true',
  );
}

export interface DialogProps {
  title: string;
  onClose: () => void;
  children: ReactNode;
  footer?: ReactNode;
  /** `alertdialog` for confirmations. */
  role?: 'dialog' | 'alertdialog';
  wide?: boolean;
  /** Element (by selector, inside the dialog) to focus first. */
  initialFocus?: string;
}

/**
 * A modal dialog: focus moves in and is trapped (Tab / Shift+Tab wrap), Escape closes, and focus
 * returns to what had it before when the dialog closes.
 *
 * @example
 * {open && <Dialog title="Edit" onClose={() => setOpen(false)}>...</Dialog>}
 */
export function Dialog(props: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const onClose = useRef(props.onClose);
  onClose.current = props.onClose;
  const initialFocus = props.initialFocus;

  useEffect(() => {
    const previous = document.activeElement as HTMLElement | null;
    const root = ref.current;
    if (root) {
      const first =
        (initialFocus ? root.querySelector<HTMLElement>(initialFocus) : null) ??
        focusables(root)[0] ??
        root;
      first.focus();
    }
    return () => {
      if (previous && document.contains(previous)) previous.focus();
    };
  }, [initialFocus]);

  const onKeyDown = (e: React.KeyboardEvent) => {
    if (e.key === 'Escape') {
      e.stopPropagation();
      onClose.current();
      return;
    }
    if (e.key !== 'Tab' || !ref.current) return;
    const list = focusables(ref.current);
    if (list.length === 0) {
      e.preventDefault();
      return;
    }
    const first = list[0]!;
    const last = list[list.length - 1]!;
    if (e.shiftKey && document.activeElement === first) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault();
      first.focus();
    }
  };

  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: a click outside closes; Escape does the same by keyboard
    <div
      className="backdrop"
      onMouseDown={(e) => {
        if (e.target === e.currentTarget) props.onClose();
      }}
    >
      <dialog
        open
        ref={ref}
        className={`dialog ${props.wide ? 'wide' : ''}`}
        {...(props.role === 'alertdialog' ? { role: 'alertdialog' as const } : {})}
        aria-modal="true"
        aria-labelledby={titleId}
        tabIndex={-1}
        onKeyDown={onKeyDown}
      >
        <header className="dialog-head">
          <h2 id={titleId} className="flush">
            {props.title}
          </h2>
          <button type="button" className="icon" aria-label="Close" onClick={props.onClose}>
            ×
          </button>
        </header>
        <div className="dialog-body">{props.children}</div>
        {props.footer && <footer className="dialog-foot">{props.footer}</footer>}
      </dialog>
    </div>
  );
}

/**
 * "Are you sure?" with a destructive confirm button (focused last so Enter does not delete by
 * accident: Cancel gets the focus).
 *
 * @example
 * <ConfirmDialog title="Delete gpu1?" confirmLabel="Delete" onConfirm={del} onCancel={close} />
 */
export function ConfirmDialog(props: {
  title: string;
  message: ReactNode;
  confirmLabel: string;
  onConfirm: () => void;
  onCancel: () => void;
  busy?: boolean;
}) {
  return (
    <Dialog
      title={props.title}
      onClose={props.onCancel}
      role="alertdialog"
      initialFocus="[data-cancel]"
      footer={
        <>
          <button type="button" data-cancel onClick={props.onCancel}>
            Cancel
          </button>
          <button
            type="button"
            className="danger"
            onClick={props.onConfirm}
            disabled={props.busy ?? false}
          >
            {props.confirmLabel}
          </button>
        </>
      }
    >
      <p>{props.message}</p>
    </Dialog>
  );
}
