import { useEffect, useState } from 'react';
import { api, type Job, type Point, type Resource } from '../api';
import { formatDate } from '../format';
import { useI18n } from '../i18n';
import { JobProgress } from '../ui/JobProgress';
import { Modal } from '../ui/Modal';

/** 回滚: the agent writes the point back onto its resource's disks; followed live until it ends. */
export function RollbackDialog({ point, resourceId, resource, open, onClose, onDone }: { point: Point; resourceId: string; resource: Resource | undefined; open: boolean; onClose(): void; onDone(): void }) {
  const { t, lang } = useI18n();
  const [job, setJob] = useState<Job | null>(null);
  useEffect(() => {
    if (open) setJob(null);
  }, [open]);
  const vars = { agent: resource?.agent?.name ?? '', resource: `${resource?.name ?? ''} (${resourceId})`, id: point.id, time: formatDate(point.snapshot_at, lang) };
  return (
    <Modal
      open={open}
      onClose={onClose}
      danger
      title={t('point.rollbackTitle')}
      submitLabel={t('point.rollback')}
      description={job ? t('point.rollbackRunning', vars) : t('point.rollbackBody', vars)}
      onSubmit={
        job
          ? undefined
          : async () => {
              setJob((await api.post<{ job: Job }>(`/points/${point.id}/rollback`)).job);
              return false as const;
            }
      }
    >
      {job ? <JobProgress jobId={job.id} onEnd={onDone} result={() => t('point.rollbackDone', vars)} /> : null}
    </Modal>
  );
}
