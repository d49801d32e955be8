import { useEffect, useState, type ReactNode } from 'react';
import { api, type Job } from '../api';
import { formatSize } from '../format';
import { useI18n } from '../i18n';
import { Status } from './States';

const POLL_MS = 1_000;

/** Bytes per second since the job started, by the server's own clock (started_at → updated_at). */
export function jobRate(j: Job): number | null {
  if (!j.started_at || j.bytes_done <= 0) return null;
  const secs = (Date.parse(j.updated_at) - Date.parse(j.started_at)) / 1000;
  return secs > 0 ? j.bytes_done / secs : null;
}

function duration(secs: number, lang: 'zh-CN' | 'en'): string {
  const s = Math.max(0, Math.round(secs));
  const m = Math.floor(s / 60);
  const rest = s % 60;
  if (lang === 'zh-CN') return m > 0 ? `${m} 分 ${rest} 秒` : `${rest} 秒`;
  return m > 0 ? `${m} min ${rest} s` : `${rest} s`;
}

/**
 * A job followed live until it ends: status, bytes done of the total, rate and time
 * left, polled each second (the agent reports about as often); then `result(job)`.
 */
export function JobProgress({ jobId, onEnd, result }: { jobId: string; onEnd?(job: Job): void; result(job: Job): ReactNode }) {
  const { t, lang } = useI18n();
  const [job, setJob] = useState<Job | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let stop = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        const j = (await api.get<{ job: Job }>(`/jobs/${jobId}`)).job;
        if (stop) return;
        setJob(j);
        setError(null);
        if (j.status === 'successful' || j.status === 'failed') {
          onEnd?.(j);
          return;
        }
      } catch (err) {
        if (stop) return;
        setError(err instanceof Error ? err.message : String(err));
      }
      timer = setTimeout(() => void tick(), POLL_MS);
    };
    void tick();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
    // onEnd is called once per job; a new callback identity must not restart the polling.
  }, [jobId]);

  if (!job) return <p role="status">{error ?? t('common.loading')}</p>;
  const ended = job.status === 'successful' || job.status === 'failed';
  const rate = jobRate(job);
  const left = rate && job.bytes_total > job.bytes_done ? (job.bytes_total - job.bytes_done) / rate : null;
  return (
    <div className="job-progress" data-job-id={job.id} data-bytes-done={job.bytes_done}>
      <p>
        {t('jobProgress.job', { id: job.id })} <Status status={job.status} />
      </p>
      <progress max={100} value={job.progress} aria-label={t('jobs.progressOf', { id: job.id })} />
      <dl>
        <dt>{t('jobProgress.bytes')}</dt>
        <dd className="jp-bytes">{job.bytes_total > 0 ? t('jobProgress.bytesOf', { done: formatSize(job.bytes_done, lang), total: formatSize(job.bytes_total, lang), pct: job.progress }) : job.status === 'pending' ? t('jobProgress.waiting') : '—'}</dd>
        <dt>{t('jobProgress.rate')}</dt>
        <dd className="jp-rate">{rate ? `${formatSize(rate, lang)}/s` : '—'}</dd>
        {!ended ? (
          <>
            <dt>{t('jobProgress.left')}</dt>
            <dd className="jp-left">{left !== null ? duration(left, lang) : '—'}</dd>
          </>
        ) : null}
      </dl>
      {error ? <p className="hint">{error}</p> : null}
      {ended ? (
        <div role="status" className={job.status === 'failed' ? 'form-error jp-result' : 'notice jp-result'}>
          {job.status === 'failed' ? t('jobProgress.failed', { error: job.error ?? '' }) : result(job)}
        </div>
      ) : (
        <p className="hint">{t('jobProgress.canClose')}</p>
      )}
    </div>
  );
}
