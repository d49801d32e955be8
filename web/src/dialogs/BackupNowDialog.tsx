import { useEffect, useId, useState } from 'react';
import { api, type Job, type Resource } from '../api';
import { useI18n } from '../i18n';
import { Modal } from '../ui/Modal';
import { useToast } from '../ui/Toast';

/** 立即备份: queued for the agent that hosts the resource. */
export function BackupNowDialog({ resource, open, onClose, onDone }: { resource: Resource; open: boolean; onClose(): void; onDone?(): void }) {
  const { t } = useI18n();
  const toast = useToast();
  const ids = { type: useId(), name: useId() };
  const [type, setType] = useState<'incremental' | 'full'>('incremental');
  const [name, setName] = useState('');
  useEffect(() => {
    if (open) {
      setType('incremental');
      setName('');
    }
  }, [open]);
  const agent = resource.agent?.name ?? '';
  const submit = async () => {
    const res = await api.post<{ job: Job }>(`/resources/${resource.id}/backups`, { type, ...(name.trim() ? { name: name.trim() } : {}) });
    toast.push(t('backupNow.queued', { id: res.job.id, agent }), { link: { to: '/jobs', label: t('nav.jobs') } });
    onDone?.();
  };
  return (
    <Modal open={open} onClose={onClose} title={t('backupNow.title')} description={t('backupNow.body', { agent, resource: `${resource.name} (${resource.id})` })} onSubmit={submit}>
      <fieldset className="field">
        <legend>{t('backupNow.type')}</legend>
        <label className="radio">
          <input type="radio" name={ids.type} value="incremental" checked={type === 'incremental'} onChange={() => setType('incremental')} />
          <span>{t('backupNow.incremental')}</span>
        </label>
        <label className="radio">
          <input type="radio" name={ids.type} value="full" checked={type === 'full'} onChange={() => setType('full')} />
          <span>{t('backupNow.full')}</span>
        </label>
      </fieldset>
      <div className="field">
        <label htmlFor={ids.name}>
          {t('backupNow.pointName')} <span className="hint">{t('common.optional')}</span>
        </label>
        <input id={ids.name} type="text" value={name} maxLength={128} onChange={(e) => setName(e.target.value)} />
      </div>
    </Modal>
  );
}
