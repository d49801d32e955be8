import { useEffect, useId, useState } from 'react';
import { useI18n } from '../i18n';
import { Modal } from '../ui/Modal';

/** Name and (optionally) description of a chain, a point or an image. */
export function EditDialog(props: { open: boolean; onClose(): void; title: string; name: string; description?: string; withDescription?: boolean; nameRequired?: boolean; onSave(v: { name: string; description: string }): Promise<void> }) {
  const { t } = useI18n();
  const ids = { name: useId(), desc: useId() };
  const [name, setName] = useState(props.name);
  const [description, setDescription] = useState(props.description ?? '');
  useEffect(() => {
    if (props.open) {
      setName(props.name);
      setDescription(props.description ?? '');
    }
  }, [props.open, props.name, props.description]);
  return (
    <Modal open={props.open} onClose={props.onClose} title={props.title} onSubmit={() => props.onSave({ name: name.trim(), description })} submitLabel={t('common.save')} submitDisabled={props.nameRequired && !name.trim()}>
      <div className="field">
        <label htmlFor={ids.name}>{t('common.name')}</label>
        <input id={ids.name} type="text" value={name} maxLength={128} onChange={(e) => setName(e.target.value)} />
      </div>
      {props.withDescription !== false ? (
        <div className="field">
          <label htmlFor={ids.desc}>{t('common.description')}</label>
          <textarea id={ids.desc} value={description} maxLength={1024} rows={3} onChange={(e) => setDescription(e.target.value)} />
        </div>
      ) : null}
    </Modal>
  );
}
