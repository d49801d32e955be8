import type { ColumnDef } from '@tanstack/react-table';
import { useMemo, useState, type ReactNode } from 'react';
import { Link, Navigate, useParams } from 'react-router';
import { api, ApiError, type CairnEvent, type Chain, type ChainDetail, type Page, type Point, type Resource, type Share } from '../api';
import { CreateVolumeDialog } from '../dialogs/CreateVolumeDialog';
import { EditDialog } from '../dialogs/EditDialog';
import { MakeImageDialog } from '../dialogs/MakeImageDialog';
import { RollbackDialog } from '../dialogs/RollbackDialog';
import { formatDate, formatSize } from '../format';
import { useI18n } from '../i18n';
import { useAccount } from '../session';
import { DataTable } from '../ui/DataTable';
import { Confirm } from '../ui/Modal';
import { LoadError, Loading, Status } from '../ui/States';
import { useToast } from '../ui/Toast';
import { useFetch } from '../ui/useFetch';
import { AgentBadge, ChainActions, ChainDialogs, ShareState, type ChainDialog } from './Backups';
import { describeEvent, NameAndId, PageHead, pointTree, usePageTitle } from './common';

type TreePoint = Point & { children: Point[] };

type PointDialog = { kind: 'image' | 'volume' | 'rollback' | 'edit' | 'delete'; point: Point } | null;

/** The tree of points, with the head marked; `actions` renders each point's buttons. */
export function PointsTable({ points, actions }: { points: Point[]; actions(p: Point): ReactNode }) {
  const { t, lang } = useI18n();
  const tree = useMemo(() => pointTree(points), [points]);
  const columns = useMemo<ColumnDef<TreePoint>[]>(
    () => [
      {
        id: 'name',
        header: t('chain.colPoint'),
        cell: ({ row }) => (
          <span className="tree-cell" style={{ paddingInlineStart: `${row.depth * 1.25}rem` }}>
            {row.depth > 0 ? (
              <span className="tree-branch" aria-hidden="true">
                └
              </span>
            ) : null}
            <NameAndId name={row.original.name} id={row.original.id} />
            {row.original.is_head ? <span className="badge badge-head">{t('chain.head')}</span> : null}
          </span>
        ),
      },
      { id: 'type', header: t('chain.pointType'), cell: ({ row }) => (row.original.type === 'full' ? t('chain.full') : t('chain.incremental')) },
      { id: 'status', header: t('common.status'), cell: ({ row }) => <Status status={row.original.status} /> },
      { id: 'logical', header: t('chain.logicalSize'), cell: ({ row }) => formatSize(row.original.logical_size, lang) },
      { id: 'stored', header: t('chain.storedSize'), cell: ({ row }) => formatSize(row.original.stored_bytes, lang) },
      { id: 'disks', header: t('chain.disks'), cell: ({ row }) => row.original.disks.map((d) => d.name).join(', ') },
      { id: 'taken', header: t('chain.snapshotAt'), cell: ({ row }) => <time dateTime={row.original.snapshot_at}>{formatDate(row.original.snapshot_at, lang)}</time> },
      { id: 'actions', header: t('common.actions'), cell: ({ row }) => actions(row.original) },
    ],
    [t, lang, actions],
  );
  return (
    <DataTable
      caption={t('chain.points')}
      columns={columns}
      data={tree}
      rowId={(p) => p.id}
      subRows={(p) => (p as TreePoint).children as TreePoint[]}
      rowClass={(p) => (p.is_head ? 'row-head' : p.status === 'deleted' ? 'row-muted' : undefined)}
    />
  );
}

export function ChainEvents({ chainId }: { chainId: string }) {
  const { t, lang } = useI18n();
  const me = useAccount();
  const events = useFetch(() => api.get<Page<CairnEvent>>('/events', { chain_id: chainId, limit: 50 }), chainId);
  const columns = useMemo<ColumnDef<CairnEvent>[]>(
    () => [
      { id: 'time', header: t('activity.colTime'), cell: ({ row }) => formatDate(row.original.created_at, lang) },
      { id: 'event', header: t('activity.colEvent'), cell: ({ row }) => describeEvent(row.original, me, t, lang) },
    ],
    [t, lang, me],
  );
  if (events.error) return <LoadError error={events.error} retry={events.reload} />;
  return <DataTable caption={t('chain.activity')} columns={columns} data={events.data?.items ?? []} rowId={(e) => e.id} loading={events.loading && !events.data} empty={<p className="muted">{t('chain.activityEmpty')}</p>} />;
}

/** Chain detail: attributes, share list, the points tree and the share activity. */
export function ChainPage() {
  const { id = '' } = useParams();
  const { t, lang } = useI18n();
  const toast = useToast();
  const chain = useFetch(() => api.get<{ chain: ChainDetail }>(`/chains/${id}`).then((r) => r.chain), id);
  const c = chain.data;
  const resource = useFetch(
    () => (c ? api.get<{ resource: Resource }>(`/resources/${c.resource_id}`).then((r) => r.resource, () => undefined) : Promise.resolve(undefined)),
    `${c?.resource_id ?? ''}`,
  );
  const shares = useFetch(() => (c?.status === 'available' ? api.get<{ items: Share[] }>(`/chains/${id}/shares`).then((r) => r.items) : Promise.resolve([])), `${id}|${c?.share_count ?? -1}|${c?.status ?? ''}`);
  const [dialog, setDialog] = useState<ChainDialog>(null);
  const [pd, setPd] = useState<PointDialog>(null);
  const [editing, setEditing] = useState(false);
  const [eventsKey, setEventsKey] = useState(0);
  usePageTitle(t('chain.title', { name: c?.name || id }));

  const refresh = () => {
    chain.reload();
    resource.reload();
    shares.reload();
    setEventsKey((k) => k + 1);
  };

  const pointActions = useMemo(() => {
    const online = !!resource.data?.agent?.online;
    const ActionsFor = (p: Point) => {
      const live = p.status === 'available' && c?.status === 'available';
      return (
        <div className="row-actions" role="group" aria-label={t('chain.pointActions', { id: p.id })}>
          <button type="button" className="link-btn" disabled={!live} onClick={() => setPd({ kind: 'image', point: p })}>
            {t('backups.makeImage')}
          </button>
          {live ? (
            <Link className="link-btn" to={`/files/points/${p.id}`} aria-label={t('files.browseLabel', { id: p.id })}>
              {t('files.browse')}
            </Link>
          ) : null}
          <button type="button" className="link-btn" disabled={!live} onClick={() => setPd({ kind: 'volume', point: p })}>
            {t('point.createVolume')}
          </button>
          <button type="button" className="link-btn" disabled={!live || !online} title={online ? undefined : t('point.rollbackOffline', { resource: c?.resource_id ?? '' })} onClick={() => setPd({ kind: 'rollback', point: p })}>
            {t('point.rollback')}
          </button>
          <button type="button" className="link-btn" disabled={!live} onClick={() => setPd({ kind: 'edit', point: p })}>
            {t('common.edit')}
          </button>
          <button type="button" className="link-btn link-danger" disabled={!live} onClick={() => setPd({ kind: 'delete', point: p })}>
            {t('common.delete')}
          </button>
        </div>
      );
    };
    return ActionsFor;
  }, [t, c, resource.data]);

  if (chain.error) {
    const missing = chain.error instanceof ApiError && (chain.error.status === 404 || chain.error.status === 403);
    return (
      <section>
        <PageHead title={t('chain.title', { name: id })} />
        {missing ? <p className="state">{t('chain.notFound')}</p> : <LoadError error={chain.error} retry={chain.reload} />}
        <Link to="/backups">← {t('nav.backups')}</Link>
      </section>
    );
  }
  if (!c) return <Loading />;
  if (c.relation !== 'owner') return <Navigate to={`/shared/${c.id}`} replace />;

  const livePoints = c.points.filter((p) => p.status === 'available').length;
  return (
    <section>
      <nav className="crumbs" aria-label={t('common.back')}>
        <Link to="/backups">{t('nav.backups')}</Link> <span aria-hidden="true">/</span> <span>{c.name || c.id}</span>
      </nav>
      <PageHead title={t('chain.title', { name: c.name || c.id })}>
        <ChainActions chain={c} resource={resource.data} open={setDialog} />
      </PageHead>
      {c.status === 'deleted' && c.purge_after ? <p className="notice">{t('chain.inRecycle', { time: formatDate(c.purge_after, lang) })}</p> : null}

      <div className="card">
        <div className="card-head">
          <h2>{t('chain.attributes')}</h2>
          <button type="button" className="btn btn-small" onClick={() => setEditing(true)} disabled={c.status !== 'available'}>
            {t('common.edit')}
          </button>
        </div>
        <ChainAttributes
          chain={c}
          resourceExtra={<AgentBadge resource={resource.data} />}
          beforeCreated={
            <>
              <dt>{t('backups.colShare')}</dt>
              <dd>
                <ShareState count={c.share_count} />
              </dd>
            </>
          }
        />
      </div>

      <div className="card">
        <div className="card-head">
          <h2>{t('chain.shares')}</h2>
        </div>
        {shares.error ? (
          <LoadError error={shares.error} retry={shares.reload} />
        ) : (
          <SharesTable shares={shares.data ?? []} loading={shares.loading && !shares.data} />
        )}
      </div>

      <div className="card">
        <div className="card-head">
          <h2>{t('chain.points')}</h2>
        </div>
        <p className="hint">{t('chain.pointsHint')}</p>
        <PointsTable points={c.points} actions={pointActions} />
      </div>

      <div className="card">
        <div className="card-head">
          <h2>{t('chain.activity')}</h2>
        </div>
        <ChainEvents key={eventsKey} chainId={c.id} />
      </div>

      <ChainDialogs dialog={dialog} close={() => setDialog(null)} changed={refresh} onDeleted={refresh} />
      <EditDialog
        open={editing}
        onClose={() => setEditing(false)}
        title={t('chain.editTitle')}
        name={c.name}
        description={c.description}
        onSave={async (v) => {
          await api.patch(`/chains/${c.id}`, v);
          toast.push({ key: 'point.saved' });
          refresh();
        }}
      />
      {pd?.kind === 'image' ? <MakeImageDialog open source={{ id: c.id, name: c.name, relation: 'owner', pointId: pd.point.id }} onClose={() => setPd(null)} /> : null}
      {pd?.kind === 'volume' ? <CreateVolumeDialog open point={pd.point} onClose={() => setPd(null)} /> : null}
      {pd?.kind === 'edit' ? (
        <EditDialog
          open
          onClose={() => setPd(null)}
          title={t('point.editTitle')}
          name={pd.point.name}
          description={pd.point.description}
          onSave={async (v) => {
            await api.patch(`/points/${pd.point.id}`, v);
            toast.push({ key: 'point.saved' });
            refresh();
          }}
        />
      ) : null}
      {pd?.kind === 'rollback' ? <RollbackDialog open point={pd.point} resourceId={c.resource_id} resource={resource.data} onClose={() => setPd(null)} onDone={refresh} /> : null}
      {pd?.kind === 'delete' ? (
        <Confirm
          open
          danger
          onClose={() => setPd(null)}
          title={t('point.deleteTitle')}
          confirmLabel={t('common.delete')}
          body={
            pd.point.id === c.id
              ? t('point.deleteFull', { id: pd.point.id, count: livePoints })
              : // Chinese sentences join without a space.
                [t('point.deleteIncremental', { id: pd.point.id }), pd.point.is_head ? t('point.deleteHead') : ''].filter(Boolean).join(lang === 'zh-CN' ? '' : ' ')
          }
          onConfirm={async () => {
            const r = await api.del<{ deleted: { deleted: 'point' | 'chain'; id: string; purge_after: string } }>(`/points/${pd.point.id}`);
            if (r.deleted.deleted === 'chain') toast.push({ key: 'backups.deleted', vars: { id: c.id, time: (l) => formatDate(r.deleted.purge_after, l) } }, { link: { to: '/recycle-bin', label: 'backups.recycleLink' } });
            else toast.push({ key: 'point.deleted', vars: { id: pd.point.id } }, { link: { to: '/recycle-bin', label: 'backups.recycleLink' } });
            refresh();
          }}
        />
      ) : null}
    </section>
  );
}

function SharesTable({ shares, loading }: { shares: Share[]; loading: boolean }) {
  const { t, lang } = useI18n();
  const columns = useMemo<ColumnDef<Share>[]>(
    () => [
      { id: 'recipient', header: t('chain.recipient'), cell: ({ row }) => <NameAndId name={row.original.recipient.email} id={row.original.recipient.id} /> },
      { id: 'shared', header: t('chain.sharedAt'), cell: ({ row }) => formatDate(row.original.shared_at, lang) },
      { id: 'expires', header: t('chain.expiresAt'), cell: ({ row }) => (row.original.expires_at ? formatDate(row.original.expires_at, lang) : t('chain.noExpiry')) },
      { id: 'note', header: t('chain.note'), cell: ({ row }) => row.original.note || '—' },
    ],
    [t, lang],
  );
  return <DataTable caption={t('chain.shares')} columns={columns} data={shares} rowId={(s) => s.recipient.id} loading={loading} empty={<p className="muted">{t('chain.sharesEmpty')}</p>} />;
}

/** A chain's attributes, for the owner's chain page and the recipient's shared-chain page; each adds its own rows. */
export function ChainAttributes({ chain: c, resourceExtra, beforeCreated, children, unavailable }: { chain: Chain; resourceExtra?: ReactNode; beforeCreated?: ReactNode; children?: ReactNode; unavailable?: boolean }) {
  const { t, lang } = useI18n();
  return (
    <dl className="attrs">
      <dt>{t('common.id')}</dt>
      <dd>
        <code>{c.id}</code>
      </dd>
      <dt>{t('common.name')}</dt>
      <dd>{c.name || '—'}</dd>
      <dt>{t('common.description')}</dt>
      <dd>{c.description || '—'}</dd>
      <dt>{t('common.status')}</dt>
      <dd>
        <Status status={c.status} />
      </dd>
      <dt>{t('chain.resourceId')}</dt>
      <dd className={resourceExtra ? 'stack' : undefined}>
        <NameAndId name={c.resource_name} id={c.resource_id} />
        {resourceExtra}
      </dd>
      <dt>{t('backups.colSize')}</dt>
      {/* A chain the recipient can no longer read has no size or points to speak of. */}
      <dd>{unavailable ? '—' : formatSize(c.total_size, lang)}</dd>
      <dt>{t('backups.colPoints')}</dt>
      <dd>{unavailable ? '—' : c.point_count}</dd>
      {beforeCreated}
      <dt>{t('common.createdAt')}</dt>
      <dd>{formatDate(c.created_at, lang)}</dd>
      {children}
    </dl>
  );
}
