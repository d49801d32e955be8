import { useEffect, useId, useState } from 'react';
import { Link } from 'react-router';
import { api, type Job, type Resource } from '../api';
import { formatSize } from '../format';
import { useI18n } from '../i18n';
import { JobProgress } from '../ui/JobProgress';
import { Modal } from '../ui/Modal';

/** 立即备份: queued for the agent that hosts the resource, then followed live in the same dialog until it ends. */
export function BackupNowDialog({ resource, open, onClose, onDone }: { resource: Resource; open: boolean; onClose(): void; onDone?(): void }) {
  const { t, lang } = useI18n();
  const ids = { type: useId(), name: useId() };
  const [type, setType] = useState<'incremental' | 'full'>('incremental');
  const [name, setName] = useState('');
  const [job, setJob] = useState<Job | null>(null);
  useEffect(() => {
    if (open) {
      setType('incremental');
      setName('');
      setJob(null);
    }
  }, [open]);
  const agent = resource.agent?.name ?? '';
  const submit = async () => {
    const res = await api.post<{ job: Job }>(`/resources/${resource.id}/backups`, { type, ...(name.trim() ? { name: name.trim() } : {}) });
    setJob(res.job);
    return false as const;
  };
  const what = `${resource.name} (${resource.id})`;
  return (
    <Modal
      open={open}
      onClose={onClose}
      title={t('backupNow.title')}
      description={job ? t('backupNow.running', { agent, resource: what }) : t(type === 'full' ? 'backupNow.bodyFull' : 'backupNow.body', { agent, resource: what })}
      onSubmit={job ? undefined : submit}
      submitLabel={t('backupNow.start')}
    >
      {job ? (
        <JobProgress
          jobId={job.id}
          onEnd={() => onDone?.()}
          result={(j) => {
            const r = (j.result ?? {}) as { point_id?: string; chain_id?: string; type?: string; stored_bytes?: number };
            return (
              <>
                {t('backupNow.done', { point: r.point_id ?? '', stored: formatSize(r.stored_bytes ?? 0, lang) })}{' '}
                {r.chain_id ? <Link to={`/backups/${r.chain_id}`}>{t('backupNow.viewChain')}</Link> : null}
              </>
            );
          }}
        />
      ) : (
        <>
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
        </>
      )}
    </Modal>
  );
}
