import { useEffect, useId, useState } from 'react';
import { useI18n } from '../i18n';
import { Modal } from '../ui/Modal';

/** A value to show once the item is made: its secret, or an ID that goes with it. */
export interface ShownField {
  label: string;
  value: string;
}

/**
 * Makes a named item whose secret is shown only in the answer that made it (an
 * API token, an access key): a name, then, in the same dialog, the values to
 * copy, which are never shown again.
 */
export function CreateSecretDialog<T>({
  open,
  onClose,
  onDone,
  title,
  description,
  create,
  shown,
}: {
  open: boolean;
  onClose(): void;
  onDone(): void;
  title: string;
  /** Says that the secret is shown this once. */
  description: string;
  create(name: string): Promise<T>;
  shown(made: T): ShownField[];
}) {
  const { t } = useI18n();
  const base = useId();
  const [name, setName] = useState('');
  const [made, setMade] = useState<T | null>(null);
  useEffect(() => {
    if (open) {
      setName('');
      setMade(null);
    }
  }, [open]);
  if (made)
    return (
      <Modal open={open} onClose={onClose} title={title} description={description}>
        {shown(made).map((f, i) => (
          <div className="field" key={f.label}>
            <label htmlFor={`${base}-shown-${i}`}>{f.label}</label>
            <input id={`${base}-shown-${i}`} type="text" readOnly value={f.value} onFocus={(e) => e.target.select()} />
          </div>
        ))}
      </Modal>
    );
  return (
    <Modal
      open={open}
      onClose={onClose}
      title={title}
      submitDisabled={!name.trim()}
      onSubmit={async () => {
        setMade(await create(name.trim()));
        onDone();
        // Stays open to show the secret: the throw-free path of Modal would close it.
        throw new KeepOpen();
      }}
      onError={(e) => e instanceof KeepOpen}
    >
      <div className="field">
        <label htmlFor={`${base}-name`}>{t('common.name')}</label>
        <input id={`${base}-name`} type="text" value={name} maxLength={128} onChange={(e) => setName(e.target.value)} />
      </div>
    </Modal>
  );
}

class KeepOpen extends Error {}
