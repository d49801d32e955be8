import type { ColumnDef } from '@tanstack/react-table';
import { useEffect, useMemo, useState } from 'react';
import { Link } from 'react-router';
import { api, type Chain, type Page, type Resource } from '../api';
import { BackupNowDialog } from '../dialogs/BackupNowDialog';
import { CancelShareDialog } from '../dialogs/CancelShareDialog';
import { MakeImageDialog } from '../dialogs/MakeImageDialog';
import { ShareDialog } from '../dialogs/ShareDialog';
import { formatDate, formatSize } from '../format';
import { useI18n } from '../i18n';
import { DataTable } from '../ui/DataTable';
import { Confirm, Modal } from '../ui/Modal';
import { MoreMenu } from '../ui/MoreMenu';
import { BulkResults, eachRow, type BulkResult } from '../dialogs/BulkResults';
import { Pager } from '../ui/Pager';
import { Empty, LoadError, Status } from '../ui/States';
import { useToast } from '../ui/Toast';
import { Toolbar, useListParams } from '../ui/Toolbar';
import { useFetch } from '../ui/useFetch';
import { NameAndId, PageHead, usePageTitle } from './common';

export type ChainDialog =
  | { kind: 'share' | 'unshare' | 'image' | 'delete'; chain: Chain }
  | { kind: 'backup'; resource: Resource }
  | { kind: 'bulkShare' | 'bulkUnshare' | 'bulkDelete'; chains: Chain[] }
  | null;

/** The dialogs a chain's row actions (and the list's bulk actions) open, shared by the list and the chain's own page. */
export function ChainDialogs({ dialog, close, changed, onDeleted }: { dialog: ChainDialog; close(): void; changed(): void; onDeleted?(): void }) {
  const { t } = useI18n();
  const toast = useToast();
  if (!dialog) return null;
  if (dialog.kind === 'backup') return <BackupNowDialog open resource={dialog.resource} onClose={close} onDone={changed} />;
  switch (dialog.kind) {
    case 'bulkShare':
      return <ShareDialog open chains={dialog.chains} onClose={close} onDone={changed} />;
    case 'bulkUnshare':
      return <CancelShareDialog open chains={dialog.chains} onClose={close} onDone={changed} />;
    case 'bulkDelete':
      return <BulkDeleteDialog chains={dialog.chains} onClose={close} onDone={changed} />;
  }
  const c = dialog.chain;
  switch (dialog.kind) {
    case 'share':
      return <ShareDialog open chains={[c]} onClose={close} onDone={changed} />;
    case 'unshare':
      return <CancelShareDialog open chains={[c]} onClose={close} onDone={changed} />;
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
            toast.push({ key: 'backups.deleted', vars: { id: c.id, time: (l) => formatDate(r.deleted.purge_after, l) } }, { link: { to: '/recycle-bin', label: 'backups.recycleLink' } });
            changed();
            onDeleted?.();
          }}
        />
      );
  }
}

/** Deletes the chosen chains into the recycle bin, one by one, and says how each went. */
function BulkDeleteDialog({ chains, onClose, onDone }: { chains: Chain[]; onClose(): void; onDone(): void }) {
  const { t } = useI18n();
  const [results, setResults] = useState<BulkResult[] | null>(null);
  const points = chains.reduce((n, c) => n + c.point_count, 0);
  return (
    <Modal
      open
      danger
      onClose={onClose}
      title={t('backups.bulkDeleteTitle')}
      submitLabel={t('common.delete')}
      description={t('backups.bulkDeleteBody', { count: chains.length, points })}
      onSubmit={
        results
          ? undefined
          : async () => {
              setResults(await eachRow(chains, (c) => api.del(`/chains/${c.id}`)));
              onDone();
              return false as const;
            }
      }
    >
      {results ? (
        <BulkResults results={results} />
      ) : (
        <ul className="bulk-results" aria-label={t('backups.bulkChosen')}>
          {chains.map((c) => (
            <li key={c.id}>
              <NameAndId name={c.name} id={c.id} /> · {t('backups.pointsCount', { count: c.point_count })}
              {c.share_count > 0 ? ` · ${t('backups.sharedWith', { count: c.share_count })}` : ''}
            </li>
          ))}
        </ul>
      )}
    </Modal>
  );
}

/** A chain's actions: 共享 at hand, the rest under 更多操作 (keyboard-operable menu). */
export function ChainActions({ chain, resource, open }: { chain: Chain; resource: Resource | undefined; open(d: ChainDialog): void }) {
  const { t } = useI18n();
  const online = !!(chain.agent ?? resource?.agent)?.online;
  const live = chain.status === 'available';
  return (
    <div className="row-actions" role="group" aria-label={t('backups.rowActions', { name: chain.name || chain.id })}>
      <button type="button" className="link-btn" disabled={!live} onClick={() => open({ kind: 'share', chain })}>
        {t('backups.share')}
      </button>
      <MoreMenu
        items={[
          { label: t('backups.backupNow'), disabled: !online || !live || !resource, hint: t('backups.backupNowOffline'), onSelect: () => resource && open({ kind: 'backup', resource }) },
          { label: t('backups.cancelShare'), disabled: chain.share_count === 0, hint: t('backups.notShared'), onSelect: () => open({ kind: 'unshare', chain }) },
          { label: t('backups.makeImage'), disabled: !live || chain.point_count === 0, onSelect: () => open({ kind: 'image', chain }) },
          { label: t('common.delete'), danger: true, disabled: !live, onSelect: () => open({ kind: 'delete', chain }) },
        ]}
      />
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

/** Chains in the order of their resources' first appearance, so that each resource's chains sit together under it. */
function byResource(chains: Chain[]): Chain[] {
  const order = new Map<string, number>();
  for (const c of chains) if (!order.has(c.resource_id)) order.set(c.resource_id, order.size);
  return [...chains].sort((a, b) => order.get(a.resource_id)! - order.get(b.resource_id)!);
}

function Checkbox({ checked, mixed, label, onChange, disabled }: { checked: boolean; mixed?: boolean; label: string; onChange(on: boolean): void; disabled?: boolean }) {
  return (
    <input
      type="checkbox"
      aria-label={label}
      checked={checked}
      disabled={disabled}
      ref={(el) => {
        if (el) el.indeterminate = !!mixed;
      }}
      onChange={(e) => onChange(e.target.checked)}
    />
  );
}

/** 备份数据: the caller's chains grouped under their resources, with row and bulk actions as in QingCloud's list. */
export function BackupsPage() {
  const { t, lang } = useI18n();
  usePageTitle(t('backups.title'));
  const list = useListParams();
  const chains = useFetch(() => api.get<Page<Chain>>('/chains', { search: list.q, offset: list.offset, limit: list.limit }), `${list.q}|${list.offset}|${list.limit}`);
  // Agents call in every second or so; their state is refreshed now and then for "Backup now".
  const resources = useFetch(() => api.get<Page<Resource>>('/resources', { limit: 100 }), 'resources', { pollMs: 15_000 });
  const byId = useMemo(() => new Map((resources.data?.items ?? []).map((r) => [r.id, r])), [resources.data]);
  const [dialog, setDialog] = useState<ChainDialog>(null);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const rows = useMemo(() => byResource(chains.data?.items ?? []), [chains.data]);
  // What is chosen is what is on screen: a reload drops chains that left the page.
  useEffect(() => setSelected((s) => new Set([...s].filter((id) => rows.some((c) => c.id === id)))), [rows]);
  const chosen = rows.filter((c) => selected.has(c.id));
  const choose = (ids: string[], on: boolean) =>
    setSelected((s) => {
      const n = new Set(s);
      for (const id of ids) if (on) n.add(id);
      else n.delete(id);
      return n;
    });
  const allOn = rows.length > 0 && rows.every((c) => selected.has(c.id));

  const columns = useMemo<ColumnDef<Chain>[]>(
    () => [
      {
        id: 'select',
        header: () => <Checkbox checked={allOn} mixed={!allOn && selected.size > 0} label={t('backups.selectAll')} onChange={(on) => choose(rows.map((c) => c.id), on)} disabled={rows.length === 0} />,
        cell: ({ row: { original: c } }) => <Checkbox checked={selected.has(c.id)} label={t('backups.select', { name: c.name || c.id })} onChange={(on) => choose([c.id], on)} />,
      },
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
      { id: 'size', header: t('backups.colSize'), cell: ({ row }) => formatSize(row.original.total_size, lang) },
      { id: 'points', header: t('backups.colPoints'), cell: ({ row }) => row.original.point_count },
      { id: 'share', header: t('backups.colShare'), cell: ({ row }) => <ShareState count={row.original.share_count} /> },
      { id: 'created', header: t('common.createdAt'), cell: ({ row }) => <time dateTime={row.original.created_at}>{formatDate(row.original.created_at, lang)}</time> },
      { id: 'actions', header: t('common.actions'), cell: ({ row }) => <ChainActions chain={row.original} resource={byId.get(row.original.resource_id)} open={setDialog} /> },
    ],
    // choose is rebuilt each render but only touches state through its setter.
    [t, lang, byId, selected, allOn, rows],
  );

  const group = (c: Chain) => {
    const r = byId.get(c.resource_id);
    const mine = rows.filter((x) => x.resource_id === c.resource_id);
    const on = mine.every((x) => selected.has(x.id));
    const online = !!r?.agent?.online;
    return {
      id: c.resource_id,
      header: (
        <div className="group-head">
          <Checkbox checked={on} mixed={!on && mine.some((x) => selected.has(x.id))} label={t('backups.selectResource', { name: r?.name ?? c.resource_name ?? c.resource_id })} onChange={(v) => choose(mine.map((x) => x.id), v)} />
          <span className="group-label">{t('backups.colResource')}</span>
          <NameAndId name={r?.name ?? c.resource_name} id={c.resource_id} />
          <AgentBadge resource={r} />
          <span className="spacer" />
          <button type="button" className="btn btn-small" disabled={!online} title={online ? undefined : t('backups.backupNowOffline')} onClick={() => r && setDialog({ kind: 'backup', resource: r })}>
            {t('backups.backupNow')}
          </button>
        </div>
      ),
    };
  };

  const page = chains.data;
  const reload = () => {
    chains.reload();
    resources.reload();
  };
  return (
    <section>
      <PageHead title={t('backups.title')} intro={t('backups.intro')} />
      <Toolbar search={list.q} onSearch={list.setSearch} placeholder={t('backups.searchPlaceholder')} onRefresh={reload} />
      <div className="bulk-bar" role="group" aria-label={t('backups.bulkActions')}>
        <span className="count" aria-live="polite">
          {t('backups.selected', { count: chosen.length })}
        </span>
        <button type="button" className="btn btn-small" disabled={chosen.length === 0 || chosen.some((c) => c.status !== 'available')} onClick={() => setDialog({ kind: 'bulkShare', chains: chosen })}>
          {t('backups.bulkShare')}
        </button>
        <button type="button" className="btn btn-small" disabled={!chosen.some((c) => c.share_count > 0)} onClick={() => setDialog({ kind: 'bulkUnshare', chains: chosen.filter((c) => c.share_count > 0) })}>
          {t('backups.bulkCancelShare')}
        </button>
        <button type="button" className="btn btn-small btn-danger" disabled={chosen.length === 0 || chosen.some((c) => c.status !== 'available')} onClick={() => setDialog({ kind: 'bulkDelete', chains: chosen })}>
          {t('backups.bulkDelete')}
        </button>
      </div>
      {chains.error ? <LoadError error={chains.error} retry={chains.reload} /> : null}
      <DataTable
        caption={t('backups.title')}
        columns={columns}
        data={rows}
        rowId={(c) => c.id}
        group={group}
        loading={chains.loading && !page}
        empty={list.q ? <Empty title={t('backups.noMatch', { q: list.q })} /> : <FirstBackup />}
      />
      {page && page.total_count > 0 ? <Pager total={page.total_count} offset={list.offset} limit={list.limit} onChange={list.setPage} /> : null}
      <ChainDialogs dialog={dialog} close={() => setDialog(null)} changed={reload} />
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
