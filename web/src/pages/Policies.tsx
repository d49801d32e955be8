import type { ColumnDef } from '@tanstack/react-table';
import { useEffect, useId, useMemo, useState } from 'react';
import { api, ApiError, type BackupPolicy, type Page, type PolicyPreview } from '../api';
import { formatDate, timeZone } from '../format';
import { useI18n } from '../i18n';
import { DataTable } from '../ui/DataTable';
import { Confirm, Modal } from '../ui/Modal';
import { Pager } from '../ui/Pager';
import { Empty, LoadError } from '../ui/States';
import { useListParams } from '../ui/Toolbar';
import { useFetch } from '../ui/useFetch';
import { NameAndId, PageHead, usePageTitle } from './common';
import { policyWords } from './Tasks';

/** 备份策略: when tasks run, in words, with the next three runs. */
export function PoliciesPage() {
  const { t, lang } = useI18n();
  usePageTitle(t('policies.title'));
  const list = useListParams();
  const policies = useFetch(() => api.get<Page<BackupPolicy>>('/policies', { offset: list.offset, limit: list.limit }), `${list.offset}|${list.limit}`);
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<BackupPolicy | null>(null);
  const [editing, setEditing] = useState<BackupPolicy | null>(null);

  const columns = useMemo<ColumnDef<BackupPolicy>[]>(
    () => [
      { id: 'name', header: t('common.name'), cell: ({ row }) => <NameAndId name={row.original.name} id={row.original.id} /> },
      { id: 'schedule', header: t('policies.schedule'), cell: ({ row }) => policyWords(row.original.description, lang) },
      { id: 'next', header: t('policies.nextRuns'), cell: ({ row }) => row.original.next_runs.map((d) => <div key={d}>{formatDate(d, lang)}</div>) },
      { id: 'notify', header: t('policies.notify'), cell: ({ row }) => row.original.notify_on.map((e) => t(e === 'success' ? 'policies.onSuccess' : 'policies.onFailure')).join(', ') },
      { id: 'tasks', header: t('policies.tasks'), cell: ({ row }) => row.original.task_count },
      { id: 'created', header: t('common.createdAt'), cell: ({ row }) => formatDate(row.original.created_at, lang) },
      {
        id: 'actions',
        header: t('common.actions'),
        cell: ({ row: { original: p } }) => (
          <span className="row-actions">
            <button type="button" className="link-btn" onClick={() => setEditing(p)} aria-label={`${t('policies.edit')} ${p.name}`}>
              {t('policies.edit')}
            </button>
            <button type="button" className="link-btn link-danger" onClick={() => setDeleting(p)} aria-label={`${t('common.delete')} ${p.name}`}>
              {t('common.delete')}
            </button>
          </span>
        ),
      },
    ],
    [t, lang],
  );

  const page = policies.data;
  return (
    <section>
      <PageHead title={t('policies.title')} intro={t('policies.intro')}>
        <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
          {t('policies.create')}
        </button>
      </PageHead>
      {policies.error ? <LoadError error={policies.error} retry={policies.reload} /> : null}
      <DataTable
        caption={t('policies.title')}
        columns={columns}
        data={page?.items ?? []}
        rowId={(p) => p.id}
        loading={policies.loading && !page}
        empty={
          <Empty title={t('policies.emptyTitle')}>
            <p>{t('policies.emptyBody')}</p>
          </Empty>
        }
      />
      {page && page.total_count > 0 ? <Pager total={page.total_count} offset={list.offset} limit={list.limit} onChange={list.setPage} /> : null}
      <PolicyDialog open={creating} onClose={() => setCreating(false)} onDone={policies.reload} />
      {editing ? <PolicyDialog open policy={editing} onClose={() => setEditing(null)} onDone={policies.reload} /> : null}
      {deleting ? (
        <Confirm
          open
          danger
          onClose={() => setDeleting(null)}
          title={t('policies.deleteTitle')}
          body={t('policies.deleteBody', { name: deleting.name, id: deleting.id })}
          confirmLabel={t('common.delete')}
          onConfirm={async () => {
            await api.del(`/policies/${deleting.id}`);
            policies.reload();
          }}
        />
      ) : null}
    </section>
  );
}

type Kind = 'daily' | 'weekly' | 'monthly' | 'hourly' | 'cron';
const split = (s: string) => s.split(/[,\s]+/).map((x) => x.trim()).filter(Boolean);

/** Create a policy, or edit `policy` when given: the same fields, PATCHed. */
function PolicyDialog({ open, onClose, onDone, policy }: { open: boolean; onClose(): void; onDone(): void; policy?: BackupPolicy }) {
  const { t, lang } = useI18n();
  const ids = { name: useId(), repeat: useId(), kind: useId(), times: useId(), days: useId(), hours: useId(), cron: useId(), tz: useId(), emails: useId(), webhooks: useId() };
  const [name, setName] = useState('');
  const [repeat, setRepeat] = useState<'repeating' | 'once'>('repeating');
  const [kind, setKind] = useState<Kind>('daily');
  const [times, setTimes] = useState('02:00');
  const [days, setDays] = useState('1');
  const [hours, setHours] = useState('6');
  const [cron, setCron] = useState('0 2 * * *');
  const [tz, setTz] = useState(timeZone());
  const [onSuccess, setOnSuccess] = useState(false);
  const [onFailure, setOnFailure] = useState(true);
  const [emails, setEmails] = useState('');
  const [webhooks, setWebhooks] = useState('');
  const [preview, setPreview] = useState<PolicyPreview | null>(null);
  const [previewError, setPreviewError] = useState<string | null>(null);
  useEffect(() => {
    if (!open) return;
    setName(policy?.name ?? '');
    if (!policy) return;
    const sc = policy.schedule;
    setRepeat(policy.repeat);
    setKind(sc.kind);
    if ('times' in sc) setTimes(sc.times.join(','));
    if ('days' in sc) setDays(sc.days.join(','));
    if (sc.kind === 'hourly') setHours(String(sc.every_hours));
    if (sc.kind === 'cron') setCron(sc.expression);
    setTz(policy.timezone);
    setOnSuccess(policy.notify_on.includes('success'));
    setOnFailure(policy.notify_on.includes('failure'));
    setEmails(policy.emails.join(', '));
    setWebhooks(policy.webhooks.join(', '));
  }, [open, policy]);
  const schedule =
    kind === 'daily'
      ? { kind, times: split(times) }
      : kind === 'weekly' || kind === 'monthly'
        ? { kind, days: split(days).map(Number), times: split(times) }
        : kind === 'hourly'
          ? { kind, every_hours: Number(hours) }
          : { kind, expression: cron };
  const body = {
    name: name.trim() || 'preview',
    repeat,
    schedule,
    timezone: tz,
    notify_on: [...(onSuccess ? ['success'] : []), ...(onFailure ? ['failure'] : [])],
    emails: split(emails),
    webhooks: split(webhooks),
  };
  const key = JSON.stringify(body);
  useEffect(() => {
    if (!open) return;
    let live = true;
    const timer = setTimeout(() => {
      api.post<PolicyPreview>('/policies/preview', JSON.parse(key)).then(
        (p) => live && (setPreview(p), setPreviewError(null)),
        (e: unknown) => live && (setPreview(null), setPreviewError(e instanceof ApiError ? e.message : String(e))),
      );
    }, 300);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [key, open]);
  return (
    <Modal
      open={open}
      onClose={onClose}
      title={t(policy ? 'policies.edit' : 'policies.create')}
      wide
      submitDisabled={!name.trim() || !preview}
      onSubmit={async () => {
        if (policy) await api.patch(`/policies/${policy.id}`, { ...body, name: name.trim() });
        else await api.post('/policies', { ...body, name: name.trim() });
        onDone();
      }}
    >
      <div className="field">
        <label htmlFor={ids.name}>{t('common.name')}</label>
        <input id={ids.name} type="text" value={name} maxLength={128} onChange={(e) => setName(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor={ids.repeat}>{t('policies.repeat')}</label>
        <select id={ids.repeat} value={repeat} onChange={(e) => setRepeat(e.target.value as 'repeating' | 'once')}>
          <option value="repeating">{t('policies.repeating')}</option>
          <option value="once">{t('policies.once')}</option>
        </select>
      </div>
      <div className="field">
        <label htmlFor={ids.kind}>{t('policies.schedule')}</label>
        <select id={ids.kind} value={kind} onChange={(e) => setKind(e.target.value as Kind)}>
          {(['daily', 'weekly', 'monthly', 'hourly', 'cron'] as const).map((k) => (
            <option key={k} value={k}>
              {t(`policies.kind.${k}`)}
            </option>
          ))}
        </select>
      </div>
      {kind === 'weekly' || kind === 'monthly' ? (
        <div className="field">
          <label htmlFor={ids.days}>{t(kind === 'weekly' ? 'policies.weekDays' : 'policies.monthDays')}</label>
          <input id={ids.days} type="text" value={days} onChange={(e) => setDays(e.target.value)} />
        </div>
      ) : null}
      {kind === 'daily' || kind === 'weekly' || kind === 'monthly' ? (
        <div className="field">
          <label htmlFor={ids.times}>{t('policies.times')}</label>
          <input id={ids.times} type="text" value={times} onChange={(e) => setTimes(e.target.value)} />
        </div>
      ) : null}
      {kind === 'hourly' ? (
        <div className="field">
          <label htmlFor={ids.hours}>{t('policies.everyHours')}</label>
          <input id={ids.hours} type="number" min={1} max={168} value={hours} onChange={(e) => setHours(e.target.value)} />
        </div>
      ) : null}
      {kind === 'cron' ? (
        <div className="field">
          <label htmlFor={ids.cron}>{t('policies.cron')}</label>
          <input id={ids.cron} type="text" value={cron} onChange={(e) => setCron(e.target.value)} />
        </div>
      ) : null}
      <div className="field">
        <label htmlFor={ids.tz}>{t('policies.timezone')}</label>
        <input id={ids.tz} type="text" value={tz} onChange={(e) => setTz(e.target.value)} />
      </div>
      <div className="field" aria-live="polite">
        {preview ? (
          <>
            <p>
              <strong>{policyWords(preview.description, lang)}</strong>
            </p>
            <p>{t('policies.nextRuns')}:</p>
            <ul>
              {preview.next_runs.map((d) => (
                <li key={d}>{formatDate(d, lang)}</li>
              ))}
            </ul>
          </>
        ) : previewError ? (
          <p className="field-error">{previewError}</p>
        ) : null}
      </div>
      <fieldset className="field">
        <legend>{t('policies.notify')}</legend>
        <label className="check">
          <input type="checkbox" checked={onSuccess} onChange={(e) => setOnSuccess(e.target.checked)} />
          {t('policies.onSuccess')}
        </label>
        <label className="check">
          <input type="checkbox" checked={onFailure} onChange={(e) => setOnFailure(e.target.checked)} />
          {t('policies.onFailure')}
        </label>
      </fieldset>
      <div className="field">
        <label htmlFor={ids.emails}>{t('policies.emails')}</label>
        <input id={ids.emails} type="text" value={emails} onChange={(e) => setEmails(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor={ids.webhooks}>{t('policies.webhooks')}</label>
        <input id={ids.webhooks} type="text" value={webhooks} onChange={(e) => setWebhooks(e.target.value)} />
      </div>
    </Modal>
  );
}
