import { useState } from 'react';
import { Link, Navigate } from 'react-router';
import { api, type Chain, type Job, type Page, type Resource, type SharedChain } from '../api';
import { BackupNowDialog } from '../dialogs/BackupNowDialog';
import { formatSize } from '../format';
import { useI18n } from '../i18n';
import { Loading } from '../ui/States';
import { useFetch } from '../ui/useFetch';
import { AddAgentDialog } from './Agents';
import { PageHead, usePageTitle } from './common';
import { CreateResourceDialog } from './Resources';

const POLL_MS = 1_500;

/**
 * `/`: a tenant with nothing yet (no resource, no backup, nothing shared with it)
 * starts at the first-run page; everyone else at backup data.
 */
export function Home() {
  const state = useFetch(async () => {
    const [resources, chains, shared] = await Promise.all([
      api.get<Page<Resource>>('/resources', { limit: 1 }),
      api.get<Page<Chain>>('/chains', { limit: 1 }),
      api.get<Page<SharedChain>>('/shared', { limit: 1 }),
    ]);
    return resources.total_count + chains.total_count + shared.total_count === 0;
  }, 'home');
  if (state.data === undefined && !state.error) return <Loading />;
  return <Navigate to={state.data ? '/start' : '/backups'} replace />;
}

/**
 * 快速开始: from nothing to a first backup. Each step is read back from the server
 * (polled), so the page shows where the tenant is after a reload, and sees the
 * agent come online and the backup job move without one.
 */
export function StartPage() {
  const { t, lang } = useI18n();
  usePageTitle(t('start.title'));
  const [creating, setCreating] = useState(false);
  const [adding, setAdding] = useState(false);
  const [backingUp, setBackingUp] = useState(false);
  const [command, setCommand] = useState<string | null>(null);
  const resources = useFetch(() => api.get<Page<Resource>>('/resources', { limit: 100 }), 'start-resources', { pollMs: POLL_MS });
  const all = resources.data?.items ?? [];
  // The resource walked through: the first whose agent is online, else the oldest.
  const resource = all.find((r) => r.agent?.online) ?? all.at(-1);
  const progress = useFetch(
    async () => {
      if (!resource) return { job: undefined, chain: undefined };
      const [jobs, chains] = await Promise.all([api.get<Page<Job>>('/jobs', { resource_id: resource.id, limit: 1 }), api.get<Page<Chain>>('/chains', { resource_id: resource.id, limit: 1 })]);
      return { job: jobs.items[0], chain: chains.items[0] };
    },
    resource?.id ?? '',
    { pollMs: POLL_MS },
  );
  if (resources.data === undefined) return <Loading />;

  const online = !!resource?.agent?.online;
  const job = progress.data?.job;
  // The point is committed a moment before its job is marked done: the backup is done when both say so.
  const chain = job?.status === 'pending' || job?.status === 'working' ? undefined : progress.data?.chain;
  const step = !resource ? 1 : !online ? (command || resource.agent ? 3 : 2) : chain ? 5 : 4;
  const mark = (n: number) => (step > n ? ' step-done' : step === n ? ' step-current' : '');

  return (
    <section>
      <PageHead title={t('start.title')} intro={t('start.intro')} />
      <ol className="start-steps">
        <li className={`card${mark(1)}`} aria-current={step === 1 ? 'step' : undefined}>
          <h2>{t('start.step1')}</h2>
          <p>{t('start.step1Body')}</p>
          {resource ? (
            <p role="status">
              <span className="badge badge-ok">{t('start.stepDone')}</span> {t('start.step1Done', { name: resource.name, id: resource.id })} {resource.disks.map((d) => `${d.name} · ${formatSize(d.size, lang)}`).join(', ')}
            </p>
          ) : (
            <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
              {t('resources.create')}
            </button>
          )}
        </li>
        <li className={`card${mark(2)}`} aria-current={step === 2 ? 'step' : undefined}>
          <h2>{t('start.step2')}</h2>
          <p>{t('start.step2Body')}</p>
          {command ? (
            <pre data-testid="start-command">
              <code>{command}</code>
            </pre>
          ) : null}
          {resource && !online ? (
            <button type="button" className={command ? 'btn' : 'btn btn-primary'} onClick={() => setAdding(true)}>
              {t('agents.add')}
            </button>
          ) : null}
        </li>
        <li className={`card${mark(3)}`} aria-current={step === 3 ? 'step' : undefined}>
          <h2>{t('start.step3')}</h2>
          {resource ? (
            <p role="status" aria-live="polite">
              {online ? (
                <>
                  <span className="badge badge-ok">{t('status.online')}</span> {t('start.online', { name: resource.agent!.name })}
                </>
              ) : (
                <>
                  <span className="badge badge-busy">{t('status.offline')}</span> {t('start.waiting', { id: resource.id })}
                </>
              )}
            </p>
          ) : null}
        </li>
        <li className={`card${mark(4)}`} aria-current={step === 4 ? 'step' : undefined}>
          <h2>{t('start.step4')}</h2>
          <p>{t('start.step4Body')}</p>
          {resource && online && !chain ? (
            <button type="button" className="btn btn-primary" onClick={() => setBackingUp(true)} disabled={job?.status === 'pending' || job?.status === 'working'}>
              {t('backupNow.title')}
            </button>
          ) : null}
          {job ? (
            <div className="progress" role="status" aria-live="polite">
              <progress max={100} value={job.progress} aria-label={t('jobs.progressOf', { id: job.id })} />
              <span>
                {t('start.jobStatus', { id: job.id, status: t(`status.${job.status}`) })} · {job.progress}%
                {job.bytes_total > 0 ? ` · ${formatSize(job.bytes_done, lang)} / ${formatSize(job.bytes_total, lang)}` : ''}
              </span>
              {job.error ? <span className="field-error">{job.error}</span> : null}
            </div>
          ) : null}
          {chain ? (
            <p className="notice" role="status">
              {t('start.done', { id: chain.id })} <Link to={`/backups/${chain.id}`}>{t('start.seeBackups')}</Link>
            </p>
          ) : null}
        </li>
      </ol>
      <CreateResourceDialog open={creating} onClose={() => setCreating(false)} onCreated={resources.reload} />
      <AddAgentDialog open={adding} onClose={() => setAdding(false)} resources={resource ? [resource] : []} preselect={resource?.id} onMade={setCommand} />
      {backingUp && resource ? (
        <BackupNowDialog
          open
          resource={resource}
          onClose={() => setBackingUp(false)}
          onDone={progress.reload}
        />
      ) : null}
    </section>
  );
}
