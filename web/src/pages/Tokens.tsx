import type { ColumnDef } from '@tanstack/react-table';
import { useMemo, useState } from 'react';
import { api, type ApiToken, type NewApiToken, type Page } from '../api';
import { formatDate } from '../format';
import { CreateSecretDialog } from '../dialogs/CreateSecretDialog';
import { useI18n } from '../i18n';
import { DataTable } from '../ui/DataTable';
import { Confirm } from '../ui/Modal';
import { Pager } from '../ui/Pager';
import { Empty, LoadError, Status } from '../ui/States';
import { useListParams } from '../ui/Toolbar';
import { useFetch } from '../ui/useFetch';
import { AccessKeysSection } from './AccessKeys';
import { NameAndId, PageHead, usePageTitle } from './common';

/** API 密钥: the secret is shown once, right after creation. */
export function TokensPage() {
  const { t, lang } = useI18n();
  usePageTitle(t('tokens.title'));
  const list = useListParams();
  const tokens = useFetch(() => api.get<Page<ApiToken>>('/tokens', { offset: list.offset, limit: list.limit }), `${list.offset}|${list.limit}`);
  const [creating, setCreating] = useState(false);
  const [revoking, setRevoking] = useState<ApiToken | null>(null);

  const columns = useMemo<ColumnDef<ApiToken>[]>(
    () => [
      { id: 'name', header: t('common.name'), cell: ({ row }) => <NameAndId name={row.original.name} id={row.original.id} /> },
      { id: 'status', header: t('common.status'), cell: ({ row }) => <Status status={row.original.revoked_at ? 'revoked' : 'active'} /> },
      { id: 'scope', header: t('tokens.scope'), cell: ({ row }) => t(`tokens.scope.${row.original.scope}`) },
      { id: 'created', header: t('common.createdAt'), cell: ({ row }) => formatDate(row.original.created_at, lang) },
      { id: 'used', header: t('tokens.lastUsed'), cell: ({ row }) => (row.original.last_used_at ? formatDate(row.original.last_used_at, lang) : t('common.never')) },
      {
        id: 'actions',
        header: t('common.actions'),
        cell: ({ row: { original: k } }) =>
          k.revoked_at ? null : (
            <button type="button" className="link-btn link-danger" onClick={() => setRevoking(k)} aria-label={`${t('tokens.revoke')} ${k.name}`}>
              {t('tokens.revoke')}
            </button>
          ),
      },
    ],
    [t, lang],
  );

  const page = tokens.data;
  return (
    <section>
      <PageHead title={t('tokens.title')} intro={t('tokens.intro')}>
        <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
          {t('tokens.create')}
        </button>
      </PageHead>
      {tokens.error ? <LoadError error={tokens.error} retry={tokens.reload} /> : null}
      <DataTable
        caption={t('tokens.title')}
        columns={columns}
        data={page?.items ?? []}
        rowId={(k) => k.id}
        loading={tokens.loading && !page}
        empty={
          <Empty title={t('tokens.emptyTitle')}>
            <p>{t('tokens.emptyBody')}</p>
          </Empty>
        }
      />
      {page && page.total_count > 0 ? <Pager total={page.total_count} offset={list.offset} limit={list.limit} onChange={list.setPage} /> : null}
      <CreateToken open={creating} onClose={() => setCreating(false)} onDone={tokens.reload} />
      {revoking ? (
        <Confirm
          open
          danger
          onClose={() => setRevoking(null)}
          title={t('tokens.revokeTitle')}
          confirmLabel={t('tokens.revoke')}
          body={t('tokens.revokeBody', { name: revoking.name, id: revoking.id })}
          onConfirm={async () => {
            await api.del(`/tokens/${revoking.id}`);
            tokens.reload();
          }}
        />
      ) : null}
      <AccessKeysSection />
    </section>
  );
}

function CreateToken({ open, onClose, onDone }: { open: boolean; onClose(): void; onDone(): void }) {
  const { t } = useI18n();
  return (
    <CreateSecretDialog<NewApiToken>
      open={open}
      onClose={onClose}
      onDone={onDone}
      title={t('tokens.create')}
      description={t('tokens.secret')}
      create={async (name) => (await api.post<{ token: NewApiToken }>('/tokens', { name })).token}
      shown={(tok) => [{ label: t('tokens.secretLabel'), value: tok.token }]}
    />
  );
}
