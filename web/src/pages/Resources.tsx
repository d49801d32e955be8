import type { ColumnDef } from '@tanstack/react-table';
import { useEffect, useId, useMemo, useState } from 'react';
import { Link } from 'react-router';
import { api, type Chain, type Page, type Resource } from '../api';
import { BackupNowDialog } from '../dialogs/BackupNowDialog';
import { EditDialog } from '../dialogs/EditDialog';
import { formatDate, formatSize } from '../format';
import { useI18n } from '../i18n';
import { DataTable } from '../ui/DataTable';
import { Confirm, Modal } from '../ui/Modal';
import { Pager } from '../ui/Pager';
import { Empty, LoadError, Status } from '../ui/States';
import { useToast } from '../ui/Toast';
import { useListParams } from '../ui/Toolbar';
import { useFetch } from '../ui/useFetch';
import { NameAndId, PageHead, usePageTitle } from './common';

const GiB = 1024 ** 3;
const POLL_MS = 5_000;

/** 资源: volumes and instances, each with the agent that hosts it and whether that agent is online. */
export function ResourcesPage() {
  const { t, lang } = useI18n();
  usePageTitle(t('resources.title'));
  const list = useListParams();
  // Polled: an agent coming online or going offline shows without a reload.
  const resources = useFetch(() => api.get<Page<Resource>>('/resources', { offset: list.offset, limit: list.limit }), `${list.offset}|${list.limit}`, { pollMs: POLL_MS });
  const [creating, setCreating] = useState(false);
  const [renaming, setRenaming] = useState<Resource | null>(null);
  const [deleting, setDeleting] = useState<Resource | null>(null);
  const [backingUp, setBackingUp] = useState<Resource | null>(null);

  const columns = useMemo<ColumnDef<Resource>[]>(
    () => [
      { id: 'name', header: t('common.name'), cell: ({ row }) => <NameAndId name={row.original.name} id={row.original.id} /> },
      { id: 'kind', header: t('resources.colKind'), cell: ({ row }) => t(`resources.kind.${row.original.kind}`) },
      {
        id: 'disks',
        header: t('resources.colDisks'),
        cell: ({ row }) => (
          <ul className="plain-list">
            {row.original.disks.map((d) => (
              <li key={d.name}>
                {d.name} · {formatSize(d.size, lang)}
                {row.original.kind === 'instance' ? <span className="hint"> ({t(`resources.diskRole.${d.role}`)})</span> : null}
              </li>
            ))}
          </ul>
        ),
      },
      {
        id: 'agent',
        header: t('resources.colAgent'),
        cell: ({ row: { original: r } }) =>
          r.agent ? (
            <span className="stack">
              <span>{r.agent.name}</span>
              <Status status={r.agent.online ? 'online' : 'offline'} />
            </span>
          ) : (
            <Link to="/agents">{t('resources.noAgent')}</Link>
          ),
      },
      { id: 'created', header: t('common.createdAt'), cell: ({ row }) => formatDate(row.original.created_at, lang) },
      {
        id: 'actions',
        header: t('common.actions'),
        cell: ({ row: { original: r } }) => (
          <span className="row-actions">
            <button type="button" className="link-btn" disabled={!r.agent?.online} title={r.agent?.online ? undefined : t('backups.backupNowOffline')} onClick={() => setBackingUp(r)} aria-label={`${t('backupNow.title')} ${r.id}`}>
              {t('backupNow.title')}
            </button>
            <button type="button" className="link-btn" onClick={() => setRenaming(r)} aria-label={`${t('resources.rename')} ${r.id}`}>
              {t('resources.rename')}
            </button>
            <button type="button" className="link-btn link-danger" onClick={() => setDeleting(r)} aria-label={`${t('common.delete')} ${r.id}`}>
              {t('common.delete')}
            </button>
          </span>
        ),
      },
    ],
    [t, lang],
  );

  const page = resources.data;
  return (
    <section>
      <PageHead title={t('resources.title')} intro={t('resources.intro')}>
        <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
          {t('resources.create')}
        </button>
      </PageHead>
      {resources.error ? <LoadError error={resources.error} retry={resources.reload} /> : null}
      <DataTable
        caption={t('resources.title')}
        columns={columns}
        data={page?.items ?? []}
        rowId={(r) => r.id}
        loading={resources.loading && !page}
        empty={
          <Empty title={t('resources.emptyTitle')}>
            <p>{t('resources.emptyBody')}</p>
          </Empty>
        }
      />
      {page && page.total_count > 0 ? <Pager total={page.total_count} offset={list.offset} limit={list.limit} onChange={list.setPage} /> : null}
      <CreateResourceDialog open={creating} onClose={() => setCreating(false)} onCreated={resources.reload} />
      {renaming ? (
        <EditDialog
          open
          onClose={() => setRenaming(null)}
          title={t('resources.renameTitle', { id: renaming.id })}
          name={renaming.name}
          withDescription={false}
          nameRequired
          onSave={async ({ name }) => {
            await api.patch(`/resources/${renaming.id}`, { name });
            resources.reload();
          }}
        />
      ) : null}
      {deleting ? <DeleteResourceDialog resource={deleting} onClose={() => setDeleting(null)} onDeleted={resources.reload} /> : null}
      {backingUp ? <BackupNowDialog open resource={backingUp} onClose={() => setBackingUp(null)} /> : null}
    </section>
  );
}

interface DiskRow {
  name: string;
  gib: string;
}

const firstDisks = (kind: Resource['kind']): DiskRow[] => (kind === 'volume' ? [{ name: 'disk0', gib: '20' }] : [{ name: 'root', gib: '20' }, { name: 'data', gib: '50' }]);

/** 创建资源: a volume with one disk, or an instance with a system disk and data disks, each with its size. */
export function CreateResourceDialog({ open, onClose, onCreated }: { open: boolean; onClose(): void; onCreated(r: Resource): void }) {
  const { t } = useI18n();
  const toast = useToast();
  const base = useId();
  const [kind, setKind] = useState<Resource['kind']>('volume');
  const [name, setName] = useState('');
  const [disks, setDisks] = useState<DiskRow[]>(firstDisks('volume'));
  const [invalid, setInvalid] = useState(false);
  useEffect(() => {
    if (open) {
      setKind('volume');
      setName('');
      setDisks(firstDisks('volume'));
      setInvalid(false);
    }
  }, [open]);
  const chooseKind = (k: Resource['kind']) => {
    setKind(k);
    setDisks(firstDisks(k));
  };
  const setDisk = (i: number, patch: Partial<DiskRow>) => setDisks((ds) => ds.map((d, j) => (j === i ? { ...d, ...patch } : d)));
  const submit = async () => {
    const sized = disks.map((d) => ({ name: d.name.trim(), size: Math.round(Number(d.gib) * GiB) }));
    if (sized.some((d) => !d.name || !Number.isFinite(d.size) || d.size < GiB)) {
      setInvalid(true);
      throw new Error(t('resources.sizeInvalid'));
    }
    const { resource } = await api.post<{ resource: Resource }>('/resources', { kind, name: name.trim(), disks: sized });
    toast.push({ key: 'resources.created', vars: { name: resource.name, id: resource.id } });
    onCreated(resource);
  };
  return (
    <Modal open={open} onClose={onClose} title={t('resources.create')} onSubmit={submit} submitDisabled={!name.trim()} wide>
      <fieldset className="field">
        <legend>{t('resources.kindLabel')}</legend>
        <label className="radio">
          <input type="radio" name={`${base}-kind`} value="volume" checked={kind === 'volume'} onChange={() => chooseKind('volume')} />
          <span>{t('resources.kindVolumeHint')}</span>
        </label>
        <label className="radio">
          <input type="radio" name={`${base}-kind`} value="instance" checked={kind === 'instance'} onChange={() => chooseKind('instance')} />
          <span>{t('resources.kindInstanceHint')}</span>
        </label>
      </fieldset>
      <div className="field">
        <label htmlFor={`${base}-name`}>{t('common.name')}</label>
        <input id={`${base}-name`} type="text" value={name} maxLength={128} onChange={(e) => setName(e.target.value)} />
      </div>
      <fieldset className="field">
        <legend>{t('resources.disks')}</legend>
        {disks.map((d, i) => (
          <div className="disk-row" key={i}>
            {kind === 'instance' ? <span className="hint disk-role">{t(i === 0 ? 'resources.diskRole.system' : 'resources.diskRole.data')}</span> : null}
            <input type="text" aria-label={t('resources.diskName', { n: i + 1 })} value={d.name} maxLength={128} onChange={(e) => setDisk(i, { name: e.target.value })} aria-invalid={(invalid && !d.name.trim()) || undefined} />
            <input
              type="number"
              min={1}
              step={1}
              inputMode="numeric"
              aria-label={t('resources.diskSize', { n: i + 1 })}
              value={d.gib}
              onChange={(e) => setDisk(i, { gib: e.target.value })}
              aria-invalid={(invalid && !(Number(d.gib) >= 1)) || undefined}
            />
            <span aria-hidden="true">GiB</span>
            {kind === 'instance' && i > 0 ? (
              <button type="button" className="link-btn link-danger" onClick={() => setDisks((ds) => ds.filter((_, j) => j !== i))}>
                {t('resources.removeDisk', { n: i + 1 })}
              </button>
            ) : null}
          </div>
        ))}
        {kind === 'instance' && disks.length < 16 ? (
          <button type="button" className="btn btn-small" onClick={() => setDisks((ds) => [...ds, { name: `data${ds.length}`, gib: '50' }])}>
            {t('resources.addDisk')}
          </button>
        ) : null}
      </fieldset>
    </Modal>
  );
}

/** Says what happens to the resource's chains (they stay: ResourcesService.delete) before it goes. */
function DeleteResourceDialog({ resource, onClose, onDeleted }: { resource: Resource; onClose(): void; onDeleted(): void }) {
  const { t } = useI18n();
  const chains = useFetch(() => api.get<Page<Chain>>('/chains', { resource_id: resource.id, limit: 1 }), resource.id);
  const count = chains.data?.total_count;
  return (
    <Confirm
      open
      danger
      onClose={onClose}
      title={t('resources.deleteTitle')}
      confirmLabel={t('common.delete')}
      body={t('resources.deleteBody', { name: resource.name, id: resource.id })}
      onConfirm={async () => {
        await api.del(`/resources/${resource.id}`);
        onDeleted();
      }}
    >
      <p className="notice" role="status" data-testid="delete-chains">
        {count === undefined ? t('common.loading') : count === 0 ? t('resources.deleteNoChains') : t('resources.deleteChains', { count })}
      </p>
    </Confirm>
  );
}
