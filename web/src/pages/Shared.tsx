import type { ColumnDef } from '@tanstack/react-table';
import { useMemo, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { api, ApiError, type Page, type Point, type SharedChain, type SharedChainDetail } from '../api';
import { MakeImageDialog } from '../dialogs/MakeImageDialog';
import { formatDate, formatSize } from '../format';
import { useI18n } from '../i18n';
import { useAccount } from '../session';
import { DataTable } from '../ui/DataTable';
import { Confirm } from '../ui/Modal';
import { Pager } from '../ui/Pager';
import { Empty, LoadError, Loading, Status } from '../ui/States';
import { useToast } from '../ui/Toast';
import { Toolbar, useListParams } from '../ui/Toolbar';
import { useFetch } from '../ui/useFetch';
import { ChainAttributes, ChainEvents, PointsTable } from './Chain';
import { NameAndId, PageHead, usePageTitle } from './common';

type Dialog = { kind: 'image'; chain: SharedChain; pointId?: string } | { kind: 'delete'; chain: SharedChain } | null;

function SharedDialogs({ dialog, close, changed }: { dialog: Dialog; close(): void; changed(): void }) {
  const { t } = useI18n();
  const toast = useToast();
  if (!dialog) return null;
  const c = dialog.chain;
  if (dialog.kind === 'image') return <MakeImageDialog open source={{ id: c.id, name: c.name, relation: 'recipient', pointId: dialog.pointId }} onClose={close} />;
  return (
    <Confirm
      open
      danger
      onClose={close}
      title={t('shared.deleteTitle')}
      confirmLabel={t('common.delete')}
      body={t('shared.deleteBody', { name: c.name || c.id, owner: c.owner.email })}
      onConfirm={async () => {
        await api.del(`/shared/${c.id}`);
        toast.push({ key: 'shared.deleted', vars: { name: c.name || c.id } });
        changed();
      }}
    />
  );
}

function SharedActions({ chain, open }: { chain: SharedChain; open(d: Dialog): void }) {
  const { t } = useI18n();
  return (
    <div className="row-actions" role="group" aria-label={t('backups.rowActions', { name: chain.name || chain.id })}>
      {chain.status === 'available' ? (
        <button type="button" className="link-btn" disabled={chain.point_count === 0} onClick={() => open({ kind: 'image', chain })}>
          {t('backups.makeImage')}
        </button>
      ) : null}
      <button type="button" className="link-btn link-danger" onClick={() => open({ kind: 'delete', chain })}>
        {t('common.delete')}
      </button>
    </div>
  );
}

/** 共享备份: chains shared with the caller, with the seed's columns plus owner and shared-at. */
export function SharedPage() {
  const { t, lang } = useI18n();
  const me = useAccount();
  usePageTitle(t('shared.title'));
  const list = useListParams();
  const shared = useFetch(() => api.get<Page<SharedChain>>('/shared', { search: list.q, offset: list.offset, limit: list.limit }), `${list.q}|${list.offset}|${list.limit}`);
  const [dialog, setDialog] = useState<Dialog>(null);

  const columns = useMemo<ColumnDef<SharedChain>[]>(
    () => [
      {
        id: 'name',
        header: t('backups.colName'),
        cell: ({ row: { original: c } }) => (
          <Link to={`/shared/${c.id}`} className="name-id">
            <span className="name">{c.name || c.id}</span>
            <code className="id">{c.id}</code>
          </Link>
        ),
      },
      { id: 'status', header: t('common.status'), cell: ({ row }) => <Status status={row.original.status} /> },
      { id: 'resource', header: t('backups.colResource'), cell: ({ row }) => <NameAndId name={row.original.resource_name} id={row.original.resource_id} /> },
      { id: 'size', header: t('backups.colSize'), cell: ({ row }) => formatSize(row.original.total_size, lang) },
      { id: 'points', header: t('backups.colPoints'), cell: ({ row }) => row.original.point_count },
      { id: 'created', header: t('common.createdAt'), cell: ({ row }) => formatDate(row.original.created_at, lang) },
      { id: 'owner', header: t('shared.colOwner'), cell: ({ row }) => <NameAndId name={row.original.owner.email} id={row.original.owner.id} /> },
      {
        id: 'sharedAt',
        header: t('shared.colSharedAt'),
        cell: ({ row: { original: c } }) => (
          <span className="stack">
            <span>{formatDate(c.shared_at, lang)}</span>
            {c.expires_at ? <span className="hint">{t('shared.expiresOn', { time: formatDate(c.expires_at, lang) })}</span> : null}
          </span>
        ),
      },
      { id: 'actions', header: t('common.actions'), cell: ({ row }) => <SharedActions chain={row.original} open={setDialog} /> },
    ],
    [t, lang],
  );

  const page = shared.data;
  return (
    <section>
      <PageHead title={t('shared.title')} intro={t('shared.intro')} />
      <Toolbar search={list.q} onSearch={list.setSearch} placeholder={t('shared.searchPlaceholder')} onRefresh={shared.reload} />
      {shared.error ? <LoadError error={shared.error} retry={shared.reload} /> : null}
      <DataTable
        caption={t('shared.title')}
        columns={columns}
        data={page?.items ?? []}
        rowId={(c) => c.id}
        loading={shared.loading && !page}
        empty={
          list.q ? (
            <Empty title={t('backups.noMatch', { q: list.q })} />
          ) : (
            <Empty title={t('shared.emptyTitle')}>
              <p>{t('shared.emptyBody', { email: me.email, id: me.id })}</p>
            </Empty>
          )
        }
      />
      {page && page.total_count > 0 ? <Pager total={page.total_count} offset={list.offset} limit={list.limit} onChange={list.setPage} /> : null}
      <SharedDialogs dialog={dialog} close={() => setDialog(null)} changed={shared.reload} />
    </section>
  );
}

/** A shared chain, read-only: its attributes, the share's terms and the points. */
export function SharedChainPage() {
  const { id = '' } = useParams();
  const { t, lang } = useI18n();
  const navigate = useNavigate();
  const chain = useFetch(() => api.get<{ chain: SharedChainDetail }>(`/shared/${id}`).then((r) => r.chain), id);
  const [dialog, setDialog] = useState<Dialog>(null);
  const c = chain.data;
  usePageTitle(`${t('shared.title')} · ${c?.name || id}`);

  const actions = useMemo(() => {
    const For = (p: Point) => (
      <div className="row-actions" role="group" aria-label={t('chain.pointActions', { id: p.id })}>
        <button type="button" className="link-btn" disabled={p.status !== 'available' || !c} onClick={() => c && setDialog({ kind: 'image', chain: c, pointId: p.id })}>
          {t('backups.makeImage')}
        </button>
        {p.status === 'available' ? (
          <Link className="link-btn" to={`/files/points/${p.id}`} aria-label={t('files.browseLabel', { id: p.id })}>
            {t('files.browse')}
          </Link>
        ) : null}
      </div>
    );
    return For;
  }, [t, c]);

  if (chain.error) {
    const missing = chain.error instanceof ApiError && chain.error.status === 404;
    return (
      <section>
        <PageHead title={t('shared.title')} />
        {missing ? <p className="state">{t('shared.notFound')}</p> : <LoadError error={chain.error} retry={chain.reload} />}
        <Link to="/shared">← {t('nav.shared')}</Link>
      </section>
    );
  }
  if (!c) return <Loading />;
  // The owner deleted (or lost) the chain: nothing is left to use, and the page says so instead of 0 B and an empty box.
  const gone = c.status !== 'available';
  return (
    <section>
      <nav className="crumbs" aria-label={t('common.back')}>
        <Link to="/shared">{t('nav.shared')}</Link> <span aria-hidden="true">/</span> <span>{c.name || c.id}</span>
      </nav>
      <PageHead title={t('chain.title', { name: c.name || c.id })} intro={gone ? undefined : t('chain.readOnly', { owner: c.owner.email })}>
        <SharedActions chain={c} open={setDialog} />
      </PageHead>
      {gone ? (
        <p className="notice" role="status">
          {t('shared.gone', { owner: c.owner.email })}
        </p>
      ) : null}
      <div className="card">
        <div className="card-head">
          <h2>{t('chain.attributes')}</h2>
        </div>
        <ChainAttributes chain={c} unavailable={gone}>
          <dt>{t('chain.owner')}</dt>
          <dd>
            <NameAndId name={c.owner.email} id={c.owner.id} />
          </dd>
          <dt>{t('chain.sharedAt')}</dt>
          <dd>{formatDate(c.shared_at, lang)}</dd>
          <dt>{t('chain.expiresAt')}</dt>
          <dd>{c.expires_at ? formatDate(c.expires_at, lang) : t('chain.noExpiry')}</dd>
          <dt>{t('chain.note')}</dt>
          <dd>{c.note || '—'}</dd>
        </ChainAttributes>
      </div>
      <div className="card">
        <div className="card-head">
          <h2>{t('chain.points')}</h2>
        </div>
        {gone ? <p className="muted">{t('shared.goneNoPoints')}</p> : <PointsTable points={c.points} actions={actions} />}
      </div>
      <div className="card">
        <div className="card-head">
          <h2>{t('chain.activity')}</h2>
        </div>
        <ChainEvents chainId={c.id} />
      </div>
      <SharedDialogs dialog={dialog} close={() => setDialog(null)} changed={() => navigate('/shared')} />
    </section>
  );
}
