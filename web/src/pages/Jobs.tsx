import type { ColumnDef } from '@tanstack/react-table';
import { useId, useMemo } from 'react';
import { api, type Job, type Page } from '../api';
import { formatDate, formatSize } from '../format';
import { isKey, useI18n } from '../i18n';
import { DataTable } from '../ui/DataTable';
import { Pager } from '../ui/Pager';
import { Empty, LoadError, Status } from '../ui/States';
import { useListParams } from '../ui/Toolbar';
import { useFetch } from '../ui/useFetch';
import { PageHead, usePageTitle } from './common';
import { Icon } from '../ui/Icon';

const POLL_MS = 2_000;

/** Jobs with live progress: polled while the page is visible. */
export function JobsPage() {
  const { t, lang } = useI18n();
  usePageTitle(t('jobs.title'));
  const list = useListParams();
  const status = list.params.get('status') ?? '';
  const jobs = useFetch(() => api.get<Page<Job>>('/jobs', { offset: list.offset, limit: list.limit, status: status || undefined }), `${list.offset}|${list.limit}|${status}`, { pollMs: POLL_MS });
  const filterId = useId();

  const columns = useMemo<ColumnDef<Job>[]>(
    () => [
      { id: 'id', header: t('common.id'), cell: ({ row }) => <code>{row.original.id}</code> },
      {
        id: 'action',
        header: t('jobs.colAction'),
        cell: ({ row }) => {
          const k = `jobs.action.${row.original.action}`;
          return isKey(k) ? t(k) : row.original.action;
        },
      },
      {
        id: 'status',
        header: t('common.status'),
        cell: ({ row: { original: j } }) => (
          <span className="stack">
            <Status status={j.status} />
            {j.error ? <span className="field-error">{j.error}</span> : null}
          </span>
        ),
      },
      { id: 'resource', header: t('jobs.colResource'), cell: ({ row }) => (row.original.resource_id ? <code>{row.original.resource_id}</code> : '—') },
      {
        id: 'progress',
        header: t('jobs.colProgress'),
        cell: ({ row: { original: j } }) => (
          <span className="progress">
            <progress max={100} value={j.progress} aria-label={t('jobs.progressOf', { id: j.id })} />
            <span>
              {j.progress}%{j.bytes_total > 0 ? ` · ${formatSize(j.bytes_done, lang)} / ${formatSize(j.bytes_total, lang)}` : ''}
            </span>
          </span>
        ),
      },
      {
        id: 'runner',
        header: t('jobs.colRunner'),
        cell: ({ row }) => {
          const k = `jobs.runner.${row.original.runner}`;
          return isKey(k) ? t(k) : <code>{row.original.runner}</code>;
        },
      },
      { id: 'created', header: t('common.createdAt'), cell: ({ row }) => formatDate(row.original.created_at, lang) },
      { id: 'finished', header: t('jobs.colFinished'), cell: ({ row }) => formatDate(row.original.finished_at, lang) },
    ],
    [t, lang],
  );

  const page = jobs.data;
  return (
    <section>
      <PageHead title={t('jobs.title')} intro={t('jobs.intro')} />
      <div className="toolbar">
        <button type="button" className="btn" onClick={jobs.reload} aria-label={t('common.refresh')} title={t('common.refresh')}>
          <Icon name="refresh" />
        </button>
        <label htmlFor={filterId} className="toolbar-label">
          {t('jobs.filter')}
        </label>
        <select id={filterId} value={status} onChange={(e) => list.set({ status: e.target.value || null, offset: 0 })}>
          <option value="">{t('jobs.filterAll')}</option>
          {(['pending', 'working', 'successful', 'failed'] as const).map((s) => (
            <option key={s} value={s}>
              {t(`status.${s}`)}
            </option>
          ))}
        </select>
        <span className="live" aria-hidden="true">
          ● {t('jobs.live')}
        </span>
      </div>
      {jobs.error ? <LoadError error={jobs.error} retry={jobs.reload} /> : null}
      <DataTable
        caption={t('jobs.title')}
        columns={columns}
        data={page?.items ?? []}
        rowId={(j) => j.id}
        loading={jobs.loading && !page}
        empty={
          <Empty title={t('jobs.emptyTitle')}>
            <p>{t('jobs.emptyBody')}</p>
          </Empty>
        }
      />
      {page && page.total_count > 0 ? <Pager total={page.total_count} offset={list.offset} limit={list.limit} onChange={list.setPage} /> : null}
    </section>
  );
}
