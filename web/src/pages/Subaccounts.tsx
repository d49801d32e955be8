import type { ColumnDef } from '@tanstack/react-table';
import { useEffect, useId, useMemo, useState } from 'react';
import { api, type Account, type Page } from '../api';
import { formatDate } from '../format';
import { useI18n } from '../i18n';
import { useAccount } from '../session';
import { DataTable } from '../ui/DataTable';
import { Confirm, Modal } from '../ui/Modal';
import { Pager } from '../ui/Pager';
import { Empty, LoadError, Status } from '../ui/States';
import { useToast } from '../ui/Toast';
import { useListParams } from '../ui/Toolbar';
import { useFetch } from '../ui/useFetch';
import { NameAndId, PageHead, usePageTitle } from './common';

/** 子账户: create, enable or disable, delete. */
export function SubaccountsPage() {
  const { t, lang } = useI18n();
  const me = useAccount();
  const toast = useToast();
  usePageTitle(t('sub.title'));
  const list = useListParams();
  const subs = useFetch(() => api.get<Page<Account>>('/subaccounts', { offset: list.offset, limit: list.limit }), `${list.offset}|${list.limit}`);
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<Account | null>(null);

  const columns = useMemo<ColumnDef<Account>[]>(() => {
    const setStatus = async (a: Account, status: 'active' | 'disabled') => {
      try {
        await api.patch(`/subaccounts/${a.id}`, { status });
      } catch (err) {
        toast.push(err instanceof Error ? err.message : String(err), { tone: 'bad' });
      }
      subs.reload();
    };
    return [
      { id: 'email', header: t('header.email'), cell: ({ row }) => <NameAndId name={row.original.email} id={row.original.id} /> },
      { id: 'status', header: t('common.status'), cell: ({ row }) => <Status status={row.original.status} /> },
      { id: 'created', header: t('common.createdAt'), cell: ({ row }) => formatDate(row.original.created_at, lang) },
      {
        id: 'actions',
        header: t('common.actions'),
        cell: ({ row: { original: a } }) => (
          <div className="row-actions" role="group" aria-label={t('backups.rowActions', { name: a.email })}>
            <button type="button" className="link-btn" onClick={() => void setStatus(a, a.status === 'active' ? 'disabled' : 'active')}>
              {a.status === 'active' ? t('sub.disable') : t('sub.enable')}
            </button>
            <button type="button" className="link-btn link-danger" onClick={() => setDeleting(a)}>
              {t('common.delete')}
            </button>
          </div>
        ),
      },
    ];
  }, [t, lang, toast, subs]);

  const page = subs.data;
  return (
    <section>
      <PageHead title={t('sub.title')} intro={t('sub.intro')}>
        {me.parent_id ? null : (
          <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
            {t('sub.create')}
          </button>
        )}
      </PageHead>
      {me.parent_id ? <p className="notice">{t('sub.notAllowed')}</p> : null}
      {subs.error ? <LoadError error={subs.error} retry={subs.reload} /> : null}
      <DataTable
        caption={t('sub.title')}
        columns={columns}
        data={page?.items ?? []}
        rowId={(a) => a.id}
        loading={subs.loading && !page}
        empty={
          <Empty title={t('sub.emptyTitle')}>
            <p>{t('sub.emptyBody')}</p>
          </Empty>
        }
      />
      {page && page.total_count > 0 ? <Pager total={page.total_count} offset={list.offset} limit={list.limit} onChange={list.setPage} /> : null}
      <CreateSubaccount open={creating} onClose={() => setCreating(false)} onDone={subs.reload} />
      {deleting ? (
        <Confirm
          open
          danger
          onClose={() => setDeleting(null)}
          title={t('sub.deleteTitle')}
          confirmLabel={t('common.delete')}
          body={t('sub.deleteBody', { email: deleting.email, id: deleting.id })}
          onConfirm={async () => {
            await api.del(`/subaccounts/${deleting.id}`);
            subs.reload();
          }}
        />
      ) : null}
    </section>
  );
}

function CreateSubaccount({ open, onClose, onDone }: { open: boolean; onClose(): void; onDone(): void }) {
  const { t } = useI18n();
  const toast = useToast();
  const ids = { email: useId(), password: useId(), hint: useId() };
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  useEffect(() => {
    if (open) {
      setEmail('');
      setPassword('');
    }
  }, [open]);
  return (
    <Modal
      open={open}
      onClose={onClose}
      title={t('sub.create')}
      onSubmit={async () => {
        const r = await api.post<{ account: Account }>('/subaccounts', { email: email.trim(), password });
        toast.push({ key: 'sub.created', vars: { email: r.account.email } });
        onDone();
      }}
    >
      <div className="field">
        <label htmlFor={ids.email}>{t('auth.email')}</label>
        <input id={ids.email} type="email" value={email} autoComplete="off" onChange={(e) => setEmail(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor={ids.password}>{t('auth.password')}</label>
        <input id={ids.password} type="password" value={password} autoComplete="new-password" aria-describedby={ids.hint} onChange={(e) => setPassword(e.target.value)} />
        <p className="hint" id={ids.hint}>
          {t('auth.passwordHint')}
        </p>
      </div>
    </Modal>
  );
}
