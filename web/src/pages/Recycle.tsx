import type { ColumnDef } from '@tanstack/react-table';
import { useMemo, useState } from 'react';
import { api, type Page, type RecycleItem } from '../api';
import { formatDate } from '../format';
import { useI18n } from '../i18n';
import { DataTable } from '../ui/DataTable';
import { Confirm } from '../ui/Modal';
import { Pager } from '../ui/Pager';
import { Empty, LoadError } from '../ui/States';
import { useToast } from '../ui/Toast';
import { useListParams } from '../ui/Toolbar';
import { useFetch } from '../ui/useFetch';
import { NameAndId, PageHead, usePageTitle } from './common';
import { Icon } from '../ui/Icon';

/** 回收站: deleted chains and points while they can still be restored. */
export function RecyclePage() {
  const { t, lang } = useI18n();
  const toast = useToast();
  usePageTitle(t('recycle.title'));
  const list = useListParams();
  const items = useFetch(() => api.get<Page<RecycleItem>>('/recycle-bin', { offset: list.offset, limit: list.limit }), `${list.offset}|${list.limit}`);
  const [purging, setPurging] = useState<RecycleItem | null>(null);

  const restore = async (r: RecycleItem) => {
    try {
      await api.post(`/recycle-bin/${r.id}/restore`);
      toast.push({ key: 'recycle.restored', vars: { id: r.id } });
    } catch (err) {
      toast.push(err instanceof Error ? err.message : String(err), { tone: 'bad' });
    }
    items.reload();
  };

  const columns = useMemo<ColumnDef<RecycleItem>[]>(
    () => [
      { id: 'name', header: t('backups.colName'), cell: ({ row }) => <NameAndId name={row.original.name} id={row.original.id} /> },
      { id: 'kind', header: t('recycle.colKind'), cell: ({ row }) => t(`recycle.kind.${row.original.kind}`) },
      { id: 'resource', header: t('backups.colResource'), cell: ({ row }) => <code>{row.original.resource_id}</code> },
      { id: 'deleted', header: t('recycle.colDeletedAt'), cell: ({ row }) => formatDate(row.original.deleted_at, lang) },
      { id: 'purge', header: t('recycle.colPurgeAfter'), cell: ({ row }) => formatDate(row.original.purge_after, lang) },
      {
        id: 'actions',
        header: t('common.actions'),
        cell: ({ row: { original: r } }) => (
          <div className="row-actions" role="group" aria-label={t('backups.rowActions', { name: r.name || r.id })}>
            <button type="button" className="link-btn" onClick={() => void restore(r)}>
              {t('recycle.restore')}
            </button>
            <button type="button" className="link-btn link-danger" onClick={() => setPurging(r)}>
              {t('recycle.purge')}
            </button>
          </div>
        ),
      },
    ],
    [t, lang],
  );

  const page = items.data;
  return (
    <section>
      <PageHead title={t('recycle.title')} intro={t('recycle.intro')} />
      <div className="toolbar">
        <button type="button" className="btn" onClick={items.reload} aria-label={t('common.refresh')} title={t('common.refresh')}>
          <Icon name="refresh" />
        </button>
      </div>
      {items.error ? <LoadError error={items.error} retry={items.reload} /> : null}
      <DataTable
        caption={t('recycle.title')}
        columns={columns}
        data={page?.items ?? []}
        rowId={(r) => r.id}
        loading={items.loading && !page}
        empty={
          <Empty title={t('recycle.emptyTitle')}>
            <p>{t('recycle.emptyBody')}</p>
          </Empty>
        }
      />
      {page && page.total_count > 0 ? <Pager total={page.total_count} offset={list.offset} limit={list.limit} onChange={list.setPage} /> : null}
      {purging ? (
        <Confirm
          open
          danger
          onClose={() => setPurging(null)}
          title={t('recycle.purgeTitle')}
          confirmLabel={t('recycle.purge')}
          body={t('recycle.purgeBody', { kind: t(`recycle.kind.${purging.kind}`), id: purging.id })}
          onConfirm={async () => {
            await api.del(`/recycle-bin/${purging.id}`);
            toast.push({ key: 'recycle.purged', vars: { id: purging.id } });
            items.reload();
          }}
        />
      ) : null}
    </section>
  );
}
