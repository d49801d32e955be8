import * as Dialog from '@radix-ui/react-dialog';
import { useEffect, useLayoutEffect, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { ApiError } from '../api';
import { useI18n } from '../i18n';
import { Icon } from './Icon';

export interface ModalProps {
  open: boolean;
  onClose(): void;
  title: string;
  description?: ReactNode;
  children?: ReactNode;
  /**
   * Runs on submit; the dialog closes when it resolves and shows the error when it throws.
   * Resolving to false keeps it open: a dialog that goes on to show the job it started.
   */
  onSubmit?(): Promise<void | false> | void | false;
  submitLabel?: string;
  danger?: boolean;
  /** Extra reason the submit button is disabled (shown to assistive tech via the form). */
  submitDisabled?: boolean;
  wide?: boolean;
  /** For dialogs whose errors belong to fields, the caller shows them and returns true to keep the dialog quiet. */
  onError?(err: unknown): boolean;
  /** When this changes (the user fixed what the error was about), the submit error is cleared. */
  errorResetKey?: unknown;
}

/**
 * Every dialog of the console: Radix traps focus inside, closes on Escape and
 * gives focus back to what opened it; the form makes Enter submit.
 */
export function Modal({ open, onClose, title, description, children, onSubmit, submitLabel, danger, submitDisabled, wide, onError, errorResetKey }: ModalProps) {
  const { t } = useI18n();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // Radix gives focus back only to a Dialog.Trigger; these dialogs open from row
  // buttons, so the opener is remembered here before the dialog takes focus.
  const opener = useRef<HTMLElement | null>(null);
  useLayoutEffect(() => {
    if (open && document.activeElement instanceof HTMLElement) opener.current = document.activeElement;
  }, [open]);
  useEffect(() => setError(null), [errorResetKey]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!onSubmit || busy) return;
    setBusy(true);
    setError(null);
    try {
      if ((await onSubmit()) !== false) onClose();
    } catch (err) {
      if (!onError?.(err)) setError(err instanceof ApiError || err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog.Root
      open={open}
      onOpenChange={(o) => {
        if (!o) {
          setError(null);
          onClose();
        }
      }}
    >
      <Dialog.Portal>
        <Dialog.Overlay className="overlay" />
        <Dialog.Content
          className={`dialog${wide ? ' dialog-wide' : ''}`}
          onCloseAutoFocus={(e) => {
            e.preventDefault();
            const el = opener.current;
            if (el?.isConnected && !(el as HTMLButtonElement).disabled) el.focus();
            else document.getElementById('main')?.focus();
          }}
        >
          <form onSubmit={submit} noValidate>
            <header className="dialog-head">
              <Dialog.Title className="dialog-title">{title}</Dialog.Title>
              <Dialog.Close className="icon-btn" aria-label={t('common.close')} type="button">
                <Icon name="close" />
              </Dialog.Close>
            </header>
            <div className="dialog-body">
              {description ? <Dialog.Description className="dialog-desc">{description}</Dialog.Description> : <Dialog.Description className="sr-only">{title}</Dialog.Description>}
              {children}
              {error ? (
                <p className="form-error" role="alert">
                  {error}
                </p>
              ) : null}
            </div>
            <footer className="dialog-foot">
              <Dialog.Close className="btn" type="button">
                {onSubmit ? t('common.cancel') : t('common.close')}
              </Dialog.Close>
              {onSubmit ? (
                <button type="submit" className={danger ? 'btn btn-danger' : 'btn btn-primary'} disabled={busy || submitDisabled} aria-busy={busy}>
                  {busy ? t('common.working') : (submitLabel ?? t('common.ok'))}
                </button>
              ) : null}
            </footer>
          </form>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}

/** A question with the consequences spelled out, and one button that does it. */
export function Confirm(props: { open: boolean; onClose(): void; title: string; body: ReactNode; confirmLabel?: string; danger?: boolean; onConfirm(): Promise<void | false> | void | false; children?: ReactNode }) {
  return (
    <Modal open={props.open} onClose={props.onClose} title={props.title} description={props.body} onSubmit={props.onConfirm} submitLabel={props.confirmLabel} danger={props.danger}>
      {props.children}
    </Modal>
  );
}
