import type { ColumnDef } from '@tanstack/react-table';
import { useId, useMemo, useState } from 'react';
import { Link } from 'react-router';
import { api, apiUrl, type Image, type Page } from '../api';
import { EditDialog } from '../dialogs/EditDialog';
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

type Dialog = { kind: 'rename' | 'delete'; image: Image } | null;

/** 镜像: own images and those made from shared backups, with where each came from. */
export function ImagesPage() {
  const { t, lang } = useI18n();
  const toast = useToast();
  usePageTitle(t('images.title'));
  const list = useListParams();
  const source = list.params.get('source') ?? '';
  const images = useFetch(
    () => api.get<Page<Image>>('/images', { search: list.q, offset: list.offset, limit: list.limit, source: source || undefined }),
    `${list.q}|${list.offset}|${list.limit}|${source}`,
  );
  const [dialog, setDialog] = useState<Dialog>(null);
  const filterId = useId();

  const columns = useMemo<ColumnDef<Image>[]>(
    () => [
      { id: 'name', header: t('images.colName'), cell: ({ row }) => <NameAndId name={row.original.name} id={row.original.id} /> },
      {
        id: 'source',
        header: t('images.colSource'),
        cell: ({ row: { original: i } }) => {
          // A full point's ID is its chain's: said once, not "ss-x · ss-x · root".
          const chain = [i.source.chain_id, ...(i.source.point_id === i.source.chain_id ? [] : [i.source.point_id]), i.source.disk].join(' · ');
          return i.source.owner ? (
            <span className="stack">
              <span className="badge badge-share">{t('images.filterShared')}</span>
              <span>{t('images.sharedFrom', { owner: i.source.owner.email ?? i.source.owner.id, chain })}</span>
            </span>
          ) : (
            <span className="stack">
              <span className="badge badge-muted">{t('images.filterOwn')}</span>
              <span>
                <Link to={`/backups/${i.source.chain_id}`}>{t('images.own', { chain })}</Link>
              </span>
            </span>
          );
        },
      },
      { id: 'size', header: t('images.colSize'), cell: ({ row }) => formatSize(row.original.size, lang) },
      { id: 'status', header: t('common.status'), cell: ({ row }) => <Status status={row.original.status} /> },
      { id: 'created', header: t('common.createdAt'), cell: ({ row }) => formatDate(row.original.created_at, lang) },
      {
        id: 'actions',
        header: t('common.actions'),
        cell: ({ row: { original: i } }) => (
          <div className="row-actions" role="group" aria-label={t('backups.rowActions', { name: i.name })}>
            <button type="button" className="link-btn" onClick={() => setDialog({ kind: 'rename', image: i })}>
              {t('images.rename')}
            </button>
            <Link className="link-btn" to={`/files/images/${i.id}`} aria-label={t('files.browseLabel', { id: i.id })}>
              {t('files.browse')}
            </Link>
            <a className="link-btn" href={apiUrl(`/images/${i.id}/export`)} download={`${i.id}.raw`} aria-label={t('images.downloadLabel', { name: i.name })}>
              {t('images.download')}
            </a>
            <button type="button" className="link-btn link-danger" onClick={() => setDialog({ kind: 'delete', image: i })}>
              {t('common.delete')}
            </button>
          </div>
        ),
      },
    ],
    [t, lang],
  );

  const page = images.data;
  return (
    <section>
      <PageHead title={t('images.title')} intro={t('images.intro')} />
      <Toolbar search={list.q} onSearch={list.setSearch} placeholder={t('images.searchPlaceholder')} onRefresh={images.reload}>
        <label htmlFor={filterId} className="toolbar-label">
          {t('images.filter')}
        </label>
        <select id={filterId} value={source} onChange={(e) => list.set({ source: e.target.value || null, offset: 0 })}>
          <option value="">{t('images.filterAll')}</option>
          <option value="own">{t('images.filterOwn')}</option>
          <option value="shared">{t('images.filterShared')}</option>
        </select>
      </Toolbar>
      {images.error ? <LoadError error={images.error} retry={images.reload} /> : null}
      <DataTable
        caption={t('images.title')}
        columns={columns}
        data={page?.items ?? []}
        rowId={(i) => i.id}
        loading={images.loading && !page}
        empty={
          list.q || source ? (
            <Empty title={t('backups.noMatch', { q: list.q || source })} />
          ) : (
            <Empty title={t('images.emptyTitle')}>
              <p>{t('images.emptyBody')}</p>
            </Empty>
          )
        }
      />
      {page && page.total_count > 0 ? <Pager total={page.total_count} offset={list.offset} limit={list.limit} onChange={list.setPage} /> : null}
      {dialog?.kind === 'rename' ? (
        <EditDialog
          open
          nameRequired
          onClose={() => setDialog(null)}
          title={t('images.renameTitle')}
          name={dialog.image.name}
          description={dialog.image.description}
          onSave={async (v) => {
            await api.patch(`/images/${dialog.image.id}`, { name: v.name, description: v.description });
            toast.push({ key: 'point.saved' });
            images.reload();
          }}
        />
      ) : null}
      {dialog?.kind === 'delete' ? (
        <Confirm
          open
          danger
          onClose={() => setDialog(null)}
          title={t('images.deleteTitle')}
          confirmLabel={t('common.delete')}
          body={t('images.deleteBody', { name: dialog.image.name, id: dialog.image.id })}
          onConfirm={async () => {
            await api.del(`/images/${dialog.image.id}`);
            toast.push({ key: 'images.deleted', vars: { id: dialog.image.id } });
            images.reload();
          }}
        />
      ) : null}
    </section>
  );
}
