import type { ColumnDef } from '@tanstack/react-table';
import { useEffect, useId, useMemo, useState } from 'react';
import { api, type BackupPolicy, type BackupRun, type BackupTask, type Page, type Resource } from '../api';
import { formatDate } from '../format';
import { useI18n, type I18n } from '../i18n';
import { DataTable } from '../ui/DataTable';
import { Confirm, Modal } from '../ui/Modal';
import { Pager } from '../ui/Pager';
import { Empty, LoadError, Status } from '../ui/States';
import { useListParams } from '../ui/Toolbar';
import { useToast } from '../ui/Toast';
import { useFetch } from '../ui/useFetch';
import { NameAndId, PageHead, usePageTitle } from './common';

export const policyWords = (d: { zh: string; en: string }, lang: I18n['lang']) => (lang === 'zh-CN' ? d.zh : d.en);

/** 备份任务: what is backed up on a policy's schedule, with QingCloud's columns. */
export function TasksPage() {
  const { t, lang } = useI18n();
  usePageTitle(t('tasks.title'));
  const toast = useToast();
  const list = useListParams();
  const tasks = useFetch(() => api.get<Page<BackupTask>>('/tasks', { offset: list.offset, limit: list.limit }), `${list.offset}|${list.limit}`, { pollMs: 5_000 });
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<BackupTask | null>(null);
  const [history, setHistory] = useState<BackupTask | null>(null);
  const [editing, setEditing] = useState<BackupTask | null>(null);

  const columns = useMemo<ColumnDef<BackupTask>[]>(() => {
    const toggle = async (task: BackupTask) => {
      await api.patch(`/tasks/${task.id}`, { enabled: !task.enabled });
      tasks.reload();
    };
    const runNow = async (task: BackupTask) => {
      const r = await api.post<{ run: BackupRun }>(`/tasks/${task.id}/runs`);
      toast.push({ key: 'tasks.started', vars: { id: r.run.id, name: task.name } });
      tasks.reload();
    };
    return [
      { id: 'name', header: t('tasks.colName'), cell: ({ row }) => <NameAndId name={row.original.name} id={row.original.id} /> },
      { id: 'status', header: t('common.status'), cell: ({ row }) => <Status status={row.original.enabled ? 'enabledTask' : 'disabled'} /> },
      { id: 'resources', header: t('tasks.colResources'), cell: ({ row }) => row.original.resources.map((r) => <code key={r.id}>{r.id} </code>) },
      { id: 'runs', header: t('tasks.colRuns'), cell: ({ row }) => row.original.run_count },
      {
        id: 'policy',
        header: t('tasks.colPolicy'),
        cell: ({ row: { original: x } }) => (
          <span className="stack">
            <span>{x.policy.name}</span>
            <span className="muted">{policyWords(x.policy.description, lang)}</span>
          </span>
        ),
      },
      { id: 'keep', header: t('tasks.colKeep'), cell: ({ row }) => (row.original.keep_chains === null ? t('tasks.keepForever') : t('tasks.keepN', { count: row.original.keep_chains })) },
      { id: 'created', header: t('common.createdAt'), cell: ({ row }) => formatDate(row.original.created_at, lang) },
      {
        id: 'actions',
        header: t('common.actions'),
        cell: ({ row: { original: x } }) => (
          <span className="row-actions">
            <button type="button" className="link-btn" onClick={() => void toggle(x)} aria-label={`${t(x.enabled ? 'tasks.disable' : 'tasks.enable')} ${x.name}`}>
              {t(x.enabled ? 'tasks.disable' : 'tasks.enable')}
            </button>
            <button type="button" className="link-btn" onClick={() => setEditing(x)} aria-label={`${t('tasks.edit')} ${x.name}`}>
              {t('tasks.edit')}
            </button>
            <button type="button" className="link-btn" onClick={() => void runNow(x)} aria-label={`${t('tasks.runNow')} ${x.name}`}>
              {t('tasks.runNow')}
            </button>
            <button type="button" className="link-btn" onClick={() => setHistory(x)} aria-label={`${t('tasks.history')} ${x.name}`}>
              {t('tasks.history')}
            </button>
            <button type="button" className="link-btn link-danger" onClick={() => setDeleting(x)} aria-label={`${t('common.delete')} ${x.name}`}>
              {t('common.delete')}
            </button>
          </span>
        ),
      },
    ];
  }, [t, lang, tasks, toast]);

  const page = tasks.data;
  return (
    <section>
      <PageHead title={t('tasks.title')} intro={t('tasks.intro')}>
        <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
          {t('tasks.create')}
        </button>
      </PageHead>
      {tasks.error ? <LoadError error={tasks.error} retry={tasks.reload} /> : null}
      <DataTable
        caption={t('tasks.title')}
        columns={columns}
        data={page?.items ?? []}
        rowId={(x) => x.id}
        loading={tasks.loading && !page}
        empty={
          <Empty title={t('tasks.emptyTitle')}>
            <p>{t('tasks.emptyBody')}</p>
          </Empty>
        }
      />
      {page && page.total_count > 0 ? <Pager total={page.total_count} offset={list.offset} limit={list.limit} onChange={list.setPage} /> : null}
      <TaskDialog open={creating} onClose={() => setCreating(false)} onDone={tasks.reload} />
      {editing ? <TaskDialog open task={editing} onClose={() => setEditing(null)} onDone={tasks.reload} /> : null}
      {history ? <RunHistory task={history} onClose={() => setHistory(null)} /> : null}
      {deleting ? (
        <Confirm
          open
          danger
          onClose={() => setDeleting(null)}
          title={t('tasks.deleteTitle')}
          body={t('tasks.deleteBody', { name: deleting.name, id: deleting.id })}
          confirmLabel={t('common.delete')}
          onConfirm={async () => {
            await api.del(`/tasks/${deleting.id}`);
            tasks.reload();
          }}
        />
      ) : null}
    </section>
  );
}

function RunHistory({ task, onClose }: { task: BackupTask; onClose(): void }) {
  const { t, lang } = useI18n();
  const runs = useFetch(() => api.get<Page<BackupRun>>(`/tasks/${task.id}/runs`, { limit: 20 }), task.id);
  const columns = useMemo<ColumnDef<BackupRun>[]>(
    () => [
      { id: 'id', header: t('common.id'), cell: ({ row }) => <code>{row.original.id}</code> },
      { id: 'status', header: t('common.status'), cell: ({ row }) => <Status status={row.original.status} /> },
      { id: 'trigger', header: t('tasks.trigger'), cell: ({ row }) => t(row.original.trigger === 'schedule' ? 'tasks.triggerSchedule' : 'tasks.triggerManual') },
      { id: 'started', header: t('tasks.started_at'), cell: ({ row }) => formatDate(row.original.created_at, lang) },
      { id: 'finished', header: t('jobs.colFinished'), cell: ({ row }) => formatDate(row.original.finished_at, lang) },
    ],
    [t, lang],
  );
  return (
    <Modal open onClose={onClose} title={t('tasks.historyOf', { name: task.name })} wide>
      {runs.error ? <LoadError error={runs.error} retry={runs.reload} /> : null}
      <DataTable caption={t('tasks.history')} columns={columns} data={runs.data?.items ?? []} rowId={(r) => r.id} loading={runs.loading && !runs.data} empty={<Empty title={t('tasks.noRuns')} />} />
    </Modal>
  );
}

/** Create a task, or edit `task` when given: the same fields, PATCHed. */
function TaskDialog({ open, onClose, onDone, task }: { open: boolean; onClose(): void; onDone(): void; task?: BackupTask }) {
  const { t, lang } = useI18n();
  const ids = { name: useId(), policy: useId(), type: useId(), keep: useId(), forever: useId(), resources: useId() };
  const policies = useFetch(() => (open ? api.get<Page<BackupPolicy>>('/policies', { limit: 100 }) : Promise.resolve(null)), String(open));
  const resources = useFetch(() => (open ? api.get<Page<Resource>>('/resources', { limit: 100 }) : Promise.resolve(null)), String(open));
  const [name, setName] = useState('');
  const [policy, setPolicy] = useState('');
  const [type, setType] = useState<'incremental' | 'full'>('incremental');
  const [forever, setForever] = useState(false);
  const [keep, setKeep] = useState('7');
  const [chosen, setChosen] = useState<string[]>([]);
  useEffect(() => {
    if (!open) return;
    setName(task?.name ?? '');
    setChosen(task ? task.resources.map((r) => r.id) : []);
    setForever(task ? task.keep_chains === null : false);
    setKeep(String(task?.keep_chains ?? 7));
    setType(task?.backup_type ?? 'incremental');
    setPolicy(task?.policy.id ?? '');
  }, [open, task]);
  useEffect(() => {
    if (!policy && policies.data?.items[0]) setPolicy(policies.data.items[0].id);
  }, [policies.data, policy]);
  return (
    <Modal
      open={open}
      onClose={onClose}
      title={t(task ? 'tasks.edit' : 'tasks.create')}
      wide
      submitDisabled={!name.trim() || !policy || chosen.length === 0}
      onSubmit={async () => {
        const body = { name: name.trim(), policy_id: policy, resource_ids: chosen, backup_type: type, keep_chains: forever ? null : Number(keep) };
        if (task) await api.patch(`/tasks/${task.id}`, body);
        else await api.post('/tasks', body);
        onDone();
      }}
    >
      <div className="field">
        <label htmlFor={ids.name}>{t('tasks.colName')}</label>
        <input id={ids.name} type="text" value={name} maxLength={128} onChange={(e) => setName(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor={ids.policy}>{t('tasks.colPolicy')}</label>
        <select id={ids.policy} value={policy} onChange={(e) => setPolicy(e.target.value)}>
          {(policies.data?.items ?? []).map((p) => (
            <option key={p.id} value={p.id}>
              {p.name} — {policyWords(p.description, lang)}
            </option>
          ))}
        </select>
        {policies.data && policies.data.items.length === 0 ? <p className="field-error">{t('tasks.noPolicies')}</p> : null}
      </div>
      <fieldset className="field">
        <legend id={ids.resources}>{t('tasks.colResources')}</legend>
        {(resources.data?.items ?? []).map((r) => (
          <label key={r.id} className="check">
            <input type="checkbox" checked={chosen.includes(r.id)} onChange={(e) => setChosen(e.target.checked ? [...chosen, r.id] : chosen.filter((x) => x !== r.id))} />
            {r.name} <code>{r.id}</code>
          </label>
        ))}
      </fieldset>
      <div className="field">
        <label htmlFor={ids.type}>{t('tasks.type')}</label>
        <select id={ids.type} value={type} onChange={(e) => setType(e.target.value as 'incremental' | 'full')}>
          <option value="incremental">{t('tasks.typeIncremental')}</option>
          <option value="full">{t('tasks.typeFull')}</option>
        </select>
      </div>
      <div className="field">
        <label className="check" htmlFor={ids.forever}>
          <input id={ids.forever} type="checkbox" checked={forever} onChange={(e) => setForever(e.target.checked)} />
          {t('tasks.keepForever')}
        </label>
        {forever ? null : (
          <>
            <label htmlFor={ids.keep}>{t('tasks.keepLabel')}</label>
            <input id={ids.keep} type="number" min={1} max={100} value={keep} onChange={(e) => setKeep(e.target.value)} />
          </>
        )}
      </div>
    </Modal>
  );
}
