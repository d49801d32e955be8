import type { ColumnDef } from '@tanstack/react-table';
import { useMemo, useState } from 'react';
import { Link } from 'react-router';
import { api, type Chain, type Page, type Resource } from '../api';
import { BackupNowDialog } from '../dialogs/BackupNowDialog';
import { CancelShareDialog } from '../dialogs/CancelShareDialog';
import { MakeImageDialog } from '../dialogs/MakeImageDialog';
import { ShareDialog } from '../dialogs/ShareDialog';
import { formatDate, formatSize } from '../format';
import { useI18n } from '../i18n';
import { DataTable } from '../ui/DataTable';
import { Confirm } from '../ui/Modal';
import { Pager } from '../ui/Pager';
import { Empty, LoadError, Status } from '../ui/States';
import { useToast } from '../ui/Toast';
import { Toolbar, useListParams } from '../ui/Toolbar';
import { useFetch } from '../ui/useFetch';
import { NameAndId, PageHead, usePageTitle } from './common';

export type ChainDialog = { kind: 'share' | 'unshare' | 'image' | 'delete'; chain: Chain } | { kind: 'backup'; resource: Resource } | null;

/** The dialogs a chain's row actions open, shared by the list and the chain's own page. */
export function ChainDialogs({ dialog, close, changed, onDeleted }: { dialog: ChainDialog; close(): void; changed(): void; onDeleted?(): void }) {
  const { t, lang } = useI18n();
  const toast = useToast();
  if (!dialog) return null;
  if (dialog.kind === 'backup') return <BackupNowDialog open resource={dialog.resource} onClose={close} onDone={changed} />;
  const c = dialog.chain;
  switch (dialog.kind) {
    case 'share':
      return <ShareDialog open chain={c} onClose={close} onDone={changed} />;
    case 'unshare':
      return <CancelShareDialog open chain={c} onClose={close} onDone={changed} />;
    case 'image':
      return <MakeImageDialog open source={{ id: c.id, name: c.name, relation: 'owner' }} onClose={close} />;
    case 'delete':
      return (
        <Confirm
          open
          onClose={close}
          danger
          title={t('backups.deleteTitle')}
          confirmLabel={t('common.delete')}
          body={t('backups.deleteBody', { name: c.name || c.id, id: c.id, count: c.point_count })}
          onConfirm={async () => {
            const r = await api.del<{ deleted: { purge_after: string } }>(`/chains/${c.id}`);
            toast.push(t('backups.deleted', { id: c.id, time: formatDate(r.deleted.purge_after, lang) }), { link: { to: '/recycle-bin', label: t('backups.recycleLink') } });
            changed();
            onDeleted?.();
          }}
        />
      );
  }
}

export function ChainActions({ chain, resource, open }: { chain: Chain; resource: Resource | undefined; open(d: ChainDialog): void }) {
  const { t } = useI18n();
  const online = !!(chain.agent ?? resource?.agent)?.online;
  return (
    <div className="row-actions" role="group" aria-label={t('backups.rowActions', { name: chain.name || chain.id })}>
      <button type="button" className="link-btn" disabled={!online || chain.status !== 'available'} title={online ? undefined : t('backups.backupNowOffline')} onClick={() => resource && open({ kind: 'backup', resource })}>
        {t('backups.backupNow')}
      </button>
      <button type="button" className="link-btn" disabled={chain.status !== 'available'} onClick={() => open({ kind: 'share', chain })}>
        {t('backups.share')}
      </button>
      <button type="button" className="link-btn" disabled={chain.share_count === 0} onClick={() => open({ kind: 'unshare', chain })}>
        {t('backups.cancelShare')}
      </button>
      <button type="button" className="link-btn" disabled={chain.status !== 'available' || chain.point_count === 0} onClick={() => open({ kind: 'image', chain })}>
        {t('backups.makeImage')}
      </button>
      <button type="button" className="link-btn link-danger" disabled={chain.status !== 'available'} onClick={() => open({ kind: 'delete', chain })}>
        {t('common.delete')}
      </button>
    </div>
  );
}

export function AgentBadge({ resource }: { resource: Resource | undefined }) {
  const { t } = useI18n();
  if (!resource) return null;
  if (!resource.agent) return <span className="badge badge-muted">{t('backups.noAgent')}</span>;
  return resource.agent.online ? (
    <span className="badge badge-ok">{t('backups.agentOnline', { name: resource.agent.name })}</span>
  ) : (
    <span className="badge badge-muted">{t('backups.agentOffline', { name: resource.agent.name })}</span>
  );
}

export function ShareState({ count }: { count: number }) {
  const { t } = useI18n();
  return count > 0 ? <span className="badge badge-share">{t('backups.sharedWith', { count })}</span> : <span className="muted">{t('backups.notShared')}</span>;
}

/** 备份数据: the caller's chains, with the row actions of QingCloud's list. */
export function BackupsPage() {
  const { t, lang } = useI18n();
  usePageTitle(t('backups.title'));
  const list = useListParams();
  const chains = useFetch(() => api.get<Page<Chain>>('/chains', { search: list.q, offset: list.offset, limit: list.limit }), `${list.q}|${list.offset}|${list.limit}`);
  // Agents call in every second or so; their state is refreshed now and then for "Backup now".
  const resources = useFetch(() => api.get<Page<Resource>>('/resources', { limit: 100 }), 'resources', { pollMs: 15_000 });
  const byId = useMemo(() => new Map((resources.data?.items ?? []).map((r) => [r.id, r])), [resources.data]);
  const [dialog, setDialog] = useState<ChainDialog>(null);

  const columns = useMemo<ColumnDef<Chain>[]>(
    () => [
      {
        id: 'name',
        header: t('backups.colName'),
        cell: ({ row: { original: c } }) => (
          <Link to={`/backups/${c.id}`} className="name-id">
            <span className="name">{c.name || c.id}</span>
            <code className="id">{c.id}</code>
          </Link>
        ),
      },
      { id: 'status', header: t('common.status'), cell: ({ row }) => <Status status={row.original.status} /> },
      {
        id: 'resource',
        header: t('backups.colResource'),
        cell: ({ row: { original: c } }) => (
          <div className="stack">
            <NameAndId name={c.resource_name} id={c.resource_id} />
            <AgentBadge resource={byId.get(c.resource_id)} />
          </div>
        ),
      },
      { id: 'size', header: t('backups.colSize'), cell: ({ row }) => formatSize(row.original.total_size, lang) },
      { id: 'points', header: t('backups.colPoints'), cell: ({ row }) => row.original.point_count },
      { id: 'share', header: t('backups.colShare'), cell: ({ row }) => <ShareState count={row.original.share_count} /> },
      { id: 'created', header: t('common.createdAt'), cell: ({ row }) => <time dateTime={row.original.created_at}>{formatDate(row.original.created_at, lang)}</time> },
      { id: 'actions', header: t('common.actions'), cell: ({ row }) => <ChainActions chain={row.original} resource={byId.get(row.original.resource_id)} open={setDialog} /> },
    ],
    [t, lang, byId],
  );

  const page = chains.data;
  return (
    <section>
      <PageHead title={t('backups.title')} intro={t('backups.intro')} />
      <Toolbar search={list.q} onSearch={list.setSearch} placeholder={t('backups.searchPlaceholder')} onRefresh={() => { chains.reload(); resources.reload(); }} />
      {chains.error ? <LoadError error={chains.error} retry={chains.reload} /> : null}
      <DataTable
        caption={t('backups.title')}
        columns={columns}
        data={page?.items ?? []}
        rowId={(c) => c.id}
        loading={chains.loading && !page}
        empty={list.q ? <Empty title={t('backups.noMatch', { q: list.q })} /> : <FirstBackup />}
      />
      {page && page.total_count > 0 ? <Pager total={page.total_count} offset={list.offset} limit={list.limit} onChange={list.setPage} /> : null}
      <ChainDialogs dialog={dialog} close={() => setDialog(null)} changed={() => { chains.reload(); resources.reload(); }} />
    </section>
  );
}

function FirstBackup() {
  const { t } = useI18n();
  const server = window.location.origin;
  return (
    <Empty title={t('backups.emptyTitle')}>
      <p>{t('backups.emptyBody')}</p>
      <ol className="steps">
        <li>
          {t('backups.emptyStep1')}
          <pre>
            <code>cairn login --server {server} --email you@example.com</code>
          </pre>
        </li>
        <li>
          {t('backups.emptyStep2')}
          <pre>
            <code>cairn resource create --kind volume --name data --disk disk0:20G</code>
          </pre>
        </li>
        <li>
          {t('backups.emptyStep3')}
          <pre>
            <code>cairn backup vol-xxxxxxxx --disk /dev/vdb --full</code>
          </pre>
        </li>
        <li>
          {t('backups.emptyStep4')}
          <pre>
            <code>cairn agent --name $(hostname) --map vol-xxxxxxxx:/dev/vdb</code>
          </pre>
        </li>
      </ol>
    </Empty>
  );
}
