import type { ColumnDef } from '@tanstack/react-table';
import { useId, useMemo } from 'react';
import { Link, useParams, useSearchParams } from 'react-router';
import { api, apiUrl, ApiError, type FileEntry, type FileListing } from '../api';
import { formatDate, formatSize } from '../format';
import { useI18n } from '../i18n';
import { DataTable } from '../ui/DataTable';
import { Empty, LoadError } from '../ui/States';
import { useFetch } from '../ui/useFetch';
import { PageHead, usePageTitle } from './common';

/** `drwxr-xr-x`, as ls shows it. */
function modeText(e: FileEntry): string {
  let out = { directory: 'd', symlink: 'l', file: '-', other: '?' }[e.type];
  for (let i = 8; i >= 0; i--) out += e.mode & (1 << i) ? 'rwx'[(8 - i) % 3] : '-';
  return out;
}

/**
 * 文件浏览: the folders of a point's or an image's disk, read in place on the
 * server (nothing is restored); a file downloads as itself, a folder as a tar.
 */
export function FilesPage() {
  const { kind = 'points', id = '' } = useParams();
  const { t, lang } = useI18n();
  const [params, setParams] = useSearchParams();
  const path = params.get('path') || '/';
  const disk = params.get('disk') || undefined;
  const partition = params.get('partition') || undefined;
  const base = `/${kind === 'images' ? 'images' : 'points'}/${id}/files`;
  const where = { disk, partition };
  const listing = useFetch(() => api.get<FileListing>(base, { path, ...where }), `${base}|${path}|${disk}|${partition}`);
  const partId = useId();
  const diskId = useId();
  usePageTitle(`${t('files.title')} · ${id}`);

  const go = (next: { path?: string; disk?: string | null; partition?: string | null }) => {
    const p = new URLSearchParams(params);
    for (const [k, v] of Object.entries(next)) {
      if (v === null || v === undefined || v === '' || (k === 'path' && v === '/')) p.delete(k);
      else p.set(k, v);
    }
    setParams(p);
  };

  const columns = useMemo<ColumnDef<FileEntry>[]>(
    () => [
      {
        id: 'name',
        header: t('files.colName'),
        cell: ({ row: { original: e } }) =>
          e.type === 'directory' ? (
            <button type="button" className="link-btn" onClick={() => go({ path: e.path })}>
              {e.name}/
            </button>
          ) : (
            <span>
              {e.name}
              {e.target !== null ? <span className="muted"> → {e.target}</span> : null}
            </span>
          ),
      },
      { id: 'size', header: t('files.colSize'), cell: ({ row: { original: e } }) => (e.type === 'file' ? formatSize(e.size, lang) : '') },
      { id: 'mode', header: t('files.colMode'), cell: ({ row: { original: e } }) => <code>{modeText(e)}</code> },
      { id: 'owner', header: t('files.colOwner'), cell: ({ row: { original: e } }) => `${e.uid}:${e.gid}` },
      { id: 'mtime', header: t('files.colModified'), cell: ({ row: { original: e } }) => formatDate(e.mtime, lang) },
      {
        id: 'actions',
        header: t('common.actions'),
        cell: ({ row: { original: e } }) =>
          e.type === 'file' ? (
            <a className="link-btn" href={apiUrl(`${base}/content`, { path: e.path, ...where })} download={e.name} aria-label={t('files.downloadLabel', { name: e.name })}>
              {t('files.download')}
            </a>
          ) : e.type === 'directory' ? (
            <a className="link-btn" href={apiUrl(`${base}/archive`, { path: e.path, ...where })} download={`${e.name}.tar`} aria-label={t('files.downloadTarLabel', { name: e.name })}>
              {t('files.downloadTar')}
            </a>
          ) : null,
      },
    ],
    [t, lang, base, disk, partition, params],
  );

  const l = listing.data;
  const parts = path.split('/').filter(Boolean);
  const back = kind === 'images' ? { to: '/images', label: t('nav.images') } : { to: '/backups', label: t('nav.backups') };
  return (
    <section>
      <PageHead title={t('files.title')} intro={t('files.intro', { id })}>
        <a className="btn" href={apiUrl(`${base}/archive`, { path, ...where })} download>
          {t('files.downloadFolder')}
        </a>
      </PageHead>
      <p>
        <Link to={back.to}>← {back.label}</Link>
      </p>
      {l && (l.disks.length > 1 || l.partitions.length > 1) ? (
        <div className="toolbar">
          {l.disks.length > 1 ? (
            <>
              <label htmlFor={diskId} className="toolbar-label">
                {t('files.disk')}
              </label>
              <select id={diskId} value={l.disk} onChange={(e) => go({ disk: e.target.value, partition: null, path: '/' })}>
                {l.disks.map((d) => (
                  <option key={d.name} value={d.name}>
                    {d.name} ({formatSize(d.size, lang)})
                  </option>
                ))}
              </select>
            </>
          ) : null}
          {l.partitions.length > 1 ? (
            <>
              <label htmlFor={partId} className="toolbar-label">
                {t('files.partition')}
              </label>
              <select id={partId} value={String(l.partition ?? '')} onChange={(e) => go({ partition: e.target.value, path: '/' })}>
                {l.partitions.map((p) => (
                  <option key={p.number ?? 0} value={String(p.number ?? '')}>
                    {t('files.partitionOption', { n: p.number ?? 1, fs: p.filesystem ?? t('files.noFilesystem'), size: formatSize(p.size, lang) })}
                  </option>
                ))}
              </select>
            </>
          ) : null}
        </div>
      ) : null}
      <nav aria-label={t('files.breadcrumbs')} className="breadcrumbs">
        <button type="button" className="link-btn" onClick={() => go({ path: '/' })}>
          {l ? `${l.disk}${l.partition !== null ? ` · ${l.partition}` : ''} (${l.filesystem})` : '/'}
        </button>
        {parts.map((name, i) => (
          <span key={i}>
            {' / '}
            {i === parts.length - 1 ? (
              <span aria-current="page">{name}</span>
            ) : (
              <button type="button" className="link-btn" onClick={() => go({ path: '/' + parts.slice(0, i + 1).join('/') })}>
                {name}
              </button>
            )}
          </span>
        ))}
      </nav>
      {listing.error ? listing.error instanceof ApiError && listing.error.status < 500 ? <p className="state">{listing.error.message}</p> : <LoadError error={listing.error} retry={listing.reload} /> : null}
      {listing.error ? null : (
        <DataTable caption={t('files.title')} columns={columns} data={l?.entries ?? []} rowId={(e) => e.path} loading={listing.loading && !l} empty={<Empty title={t('files.empty')} />} />
      )}
    </section>
  );
}
