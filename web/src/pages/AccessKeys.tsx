import type { ColumnDef } from '@tanstack/react-table';
import { useId, useMemo, useState } from 'react';
import { api, type AccessKey, type NewAccessKey, type Page } from '../api';
import { formatDate } from '../format';
import { CreateSecretDialog } from '../dialogs/CreateSecretDialog';
import { useI18n } from '../i18n';
import { DataTable } from '../ui/DataTable';
import { Confirm } from '../ui/Modal';
import { Empty, LoadError, Status } from '../ui/States';
import { useFetch } from '../ui/useFetch';
import { NameAndId } from './common';

/**
 * Access keys of QingCloud's action API (/iaas/, docs/qingcloud-api.md), beside
 * the tokens on the API 密钥 page: the secret is shown once, right after creation.
 */
export function AccessKeysSection() {
  const { t, lang } = useI18n();
  const headingId = useId();
  // A handful per account (the server allows 20): one page holds them all.
  const keys = useFetch(() => api.get<Page<AccessKey>>('/access-keys', { limit: 100 }), 'keys');
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<AccessKey | null>(null);
  const reload = keys.reload;

  const columns = useMemo<ColumnDef<AccessKey>[]>(
    () => [
      { id: 'name', header: t('common.name'), cell: ({ row }) => <NameAndId name={row.original.name} id={row.original.access_key_id} /> },
      { id: 'status', header: t('common.status'), cell: ({ row }) => <Status status={row.original.status} /> },
      { id: 'created', header: t('common.createdAt'), cell: ({ row }) => formatDate(row.original.created_at, lang) },
      { id: 'used', header: t('tokens.lastUsed'), cell: ({ row }) => (row.original.last_used_at ? formatDate(row.original.last_used_at, lang) : t('common.never')) },
      {
        id: 'actions',
        header: t('common.actions'),
        cell: ({ row: { original: k } }) => {
          const toggle = k.status === 'active' ? t('keys.disable') : t('keys.enable');
          return (
            <span className="row-actions">
              <button
                type="button"
                className="link-btn"
                aria-label={`${toggle} ${k.name}`}
                onClick={async () => {
                  await api.patch(`/access-keys/${k.access_key_id}`, { status: k.status === 'active' ? 'disabled' : 'active' });
                  reload();
                }}
              >
                {toggle}
              </button>{' '}
              <button type="button" className="link-btn link-danger" onClick={() => setDeleting(k)} aria-label={`${t('keys.delete')} ${k.name}`}>
                {t('keys.delete')}
              </button>
            </span>
          );
        },
      },
    ],
    [t, lang, reload],
  );

  return (
    <section aria-labelledby={headingId} className="page-section">
      <div className="page-head">
        <div>
          <h2 id={headingId}>{t('keys.title')}</h2>
          <p className="intro">{t('keys.intro')}</p>
        </div>
        <div className="page-head-actions">
          <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
            {t('keys.create')}
          </button>
        </div>
      </div>
      {keys.error ? <LoadError error={keys.error} retry={keys.reload} /> : null}
      <DataTable
        caption={t('keys.title')}
        columns={columns}
        data={keys.data?.items ?? []}
        rowId={(k) => k.access_key_id}
        loading={keys.loading && !keys.data}
        empty={
          <Empty title={t('keys.emptyTitle')}>
            <p>{t('keys.emptyBody')}</p>
          </Empty>
        }
      />
      <CreateKey open={creating} onClose={() => setCreating(false)} onDone={keys.reload} />
      {deleting ? (
        <Confirm
          open
          danger
          onClose={() => setDeleting(null)}
          title={t('keys.deleteTitle')}
          confirmLabel={t('keys.delete')}
          body={t('keys.deleteBody', { name: deleting.name, id: deleting.access_key_id })}
          onConfirm={async () => {
            await api.del(`/access-keys/${deleting.access_key_id}`);
            keys.reload();
          }}
        />
      ) : null}
    </section>
  );
}

function CreateKey({ open, onClose, onDone }: { open: boolean; onClose(): void; onDone(): void }) {
  const { t } = useI18n();
  return (
    <CreateSecretDialog<NewAccessKey>
      open={open}
      onClose={onClose}
      onDone={onDone}
      title={t('keys.create')}
      description={t('keys.secret')}
      create={async (name) => (await api.post<{ access_key: NewAccessKey }>('/access-keys', { name })).access_key}
      shown={(k) => [
        { label: t('keys.id'), value: k.access_key_id },
        { label: t('keys.secretLabel'), value: k.secret_access_key },
      ]}
    />
  );
}
