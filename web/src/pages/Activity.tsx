import type { ColumnDef } from '@tanstack/react-table';
import { useMemo } from 'react';
import { Link } from 'react-router';
import { api, type CairnEvent, type Notification, type NotificationPage, type NotificationsRead, type Page } from '../api';
import { formatDate } from '../format';
import { useI18n } from '../i18n';
import { useAccount } from '../session';
import { DataTable } from '../ui/DataTable';
import { Pager } from '../ui/Pager';
import { LoadError } from '../ui/States';
import { useListParams } from '../ui/Toolbar';
import { useFetch } from '../ui/useFetch';
import { describeEvent, PageHead, usePageTitle } from './common';

/** The event log of shared chains, and the notifications addressed to this account. */
export function ActivityPage() {
  const { t, lang } = useI18n();
  const me = useAccount();
  usePageTitle(t('activity.title'));
  const list = useListParams();
  const notes = useFetch(() => api.get<NotificationPage>('/notifications', { limit: 20 }), 'notifications');
  const events = useFetch(() => api.get<Page<CairnEvent>>('/events', { offset: list.offset, limit: list.limit }), `${list.offset}|${list.limit}`);

  const markRead = async (n: Notification) => {
    await api.post(`/notifications/${n.id}/read`);
    notes.reload();
    window.dispatchEvent(new Event('cairn:notifications'));
  };

  const markAllRead = async () => {
    await api.post<NotificationsRead>('/notifications/read');
    notes.reload();
    window.dispatchEvent(new Event('cairn:notifications'));
  };

  const chainLink = (e: CairnEvent) => {
    if (!e.chain_id) return null;
    const mine = e.owner.id === me.id;
    return <Link to={mine ? `/backups/${e.chain_id}` : `/shared/${e.chain_id}`}>{e.chain_id}</Link>;
  };

  const noteColumns = useMemo<ColumnDef<Notification>[]>(
    () => [
      { id: 'time', header: t('activity.colTime'), cell: ({ row }) => formatDate(row.original.created_at, lang) },
      { id: 'event', header: t('activity.colEvent'), cell: ({ row }) => describeEvent(row.original.event, me, t, lang) },
      { id: 'chain', header: t('nav.backups'), cell: ({ row }) => chainLink(row.original.event) },
      { id: 'status', header: t('common.status'), cell: ({ row }) => (row.original.read ? <span className="muted">{t('activity.read')}</span> : <span className="badge badge-busy">{t('activity.unread')}</span>) },
      {
        id: 'actions',
        header: t('common.actions'),
        cell: ({ row }) =>
          row.original.read ? null : (
            <button type="button" className="link-btn" onClick={() => void markRead(row.original)}>
              {t('activity.markRead')}
            </button>
          ),
      },
    ],
    // markRead and chainLink only close over stable values.
    [t, lang, me],
  );
  const eventColumns = useMemo<ColumnDef<CairnEvent>[]>(
    () => [
      { id: 'time', header: t('activity.colTime'), cell: ({ row }) => formatDate(row.original.created_at, lang) },
      { id: 'event', header: t('activity.colEvent'), cell: ({ row }) => describeEvent(row.original, me, t, lang) },
      { id: 'chain', header: t('nav.backups'), cell: ({ row }) => chainLink(row.original) },
    ],
    [t, lang, me],
  );

  return (
    <section>
      <PageHead title={t('activity.title')} intro={t('activity.intro')} />
      <div className="card">
        <div className="card-head">
          <h2>{t('activity.notifications')}</h2>
          <button type="button" className="btn btn-small" disabled={!notes.data?.unread_count} onClick={() => void markAllRead()}>
            {t('activity.markAllRead')}
          </button>
        </div>
        {notes.error ? <LoadError error={notes.error} retry={notes.reload} /> : null}
        <DataTable caption={t('activity.notifications')} columns={noteColumns} data={notes.data?.items ?? []} rowId={(n) => n.id} loading={notes.loading && !notes.data} empty={<p className="muted">{t('activity.noNotifications')}</p>} />
      </div>
      <div className="card">
        <div className="card-head">
          <h2>{t('activity.events')}</h2>
        </div>
        {events.error ? <LoadError error={events.error} retry={events.reload} /> : null}
        <DataTable caption={t('activity.events')} columns={eventColumns} data={events.data?.items ?? []} rowId={(e) => e.id} loading={events.loading && !events.data} empty={<p className="muted">{t('activity.noEvents')}</p>} />
        {events.data && events.data.total_count > 0 ? <Pager total={events.data.total_count} offset={list.offset} limit={list.limit} onChange={list.setPage} /> : null}
      </div>
    </section>
  );
}
