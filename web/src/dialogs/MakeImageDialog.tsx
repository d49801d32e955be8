import { useEffect, useId, useMemo, useState } from 'react';
import { api, type ChainDetail, type Image, type Point } from '../api';
import { formatDate, formatSize } from '../format';
import { useI18n } from '../i18n';
import { Modal } from '../ui/Modal';
import { useToast } from '../ui/Toast';

export interface ImageSource {
  id: string;
  name: string;
  relation: 'owner' | 'recipient';
  /** Preselected point; the head otherwise. */
  pointId?: string;
}

/** 制作新镜像: a point (the head by default), a disk for instances, a name and a description. */
export function MakeImageDialog({ source, open, onClose, onDone }: { source: ImageSource; open: boolean; onClose(): void; onDone?(image: Image): void }) {
  const { t, lang } = useI18n();
  const toast = useToast();
  const ids = { point: useId(), disk: useId(), name: useId(), desc: useId() };
  const [points, setPoints] = useState<Point[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [pointId, setPointId] = useState('');
  const [disk, setDisk] = useState('');
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');

  useEffect(() => {
    if (!open) return;
    setPoints(null);
    setLoadError(null);
    setDescription('');
    setName(`${source.name || source.id}-image`.slice(0, 128));
    const path = source.relation === 'owner' ? `/chains/${source.id}` : `/shared/${source.id}`;
    api.get<{ chain: ChainDetail }>(path).then(
      (r) => {
        const usable = r.chain.points.filter((p) => p.status === 'available');
        setPoints(usable);
        const chosen = usable.find((p) => p.id === source.pointId) ?? usable.find((p) => p.is_head) ?? usable.at(-1);
        setPointId(chosen?.id ?? '');
        setDisk(chosen?.disks[0]?.name ?? '');
      },
      (e: unknown) => setLoadError(e instanceof Error ? e.message : String(e)),
    );
  }, [open, source.id, source.relation, source.pointId, source.name]);

  const point = useMemo(() => points?.find((p) => p.id === pointId), [points, pointId]);

  const submit = async () => {
    const body: Record<string, string> = { point_id: pointId, name: name.trim() };
    if (point && point.disks.length > 1 && disk) body.disk = disk;
    if (description.trim()) body.description = description.trim();
    const res = await api.post<{ image: Image }>('/images', body);
    toast.push({ key: 'image.created', vars: { id: res.image.id, name: res.image.name } }, { link: { to: '/images', label: 'image.view' } });
    onDone?.(res.image);
  };

  const label = (p: Point) =>
    `${p.name ? `${p.name} · ` : ''}${p.id} · ${p.type === 'full' ? t('chain.full') : t('chain.incremental')} · ${formatDate(p.snapshot_at, lang)}${p.is_head ? ` ${t('image.headMark')}` : ''}`;

  return (
    <Modal open={open} onClose={onClose} title={t('image.title')} description={t('image.body', { name: source.name || source.id })} onSubmit={points?.length ? submit : undefined} submitDisabled={!pointId || !name.trim()}>
      {loadError ? (
        <p className="form-error" role="alert">
          {loadError}
        </p>
      ) : points === null ? (
        <p role="status">{t('common.loading')}</p>
      ) : points.length === 0 ? (
        <p>{t('image.noPoint')}</p>
      ) : (
        <>
          <div className="field">
            <label htmlFor={ids.point}>{t('image.point')}</label>
            <select
              id={ids.point}
              value={pointId}
              onChange={(e) => {
                setPointId(e.target.value);
                setDisk(points.find((p) => p.id === e.target.value)?.disks[0]?.name ?? '');
              }}
            >
              {points.map((p) => (
                <option key={p.id} value={p.id}>
                  {label(p)}
                </option>
              ))}
            </select>
          </div>
          {point && point.disks.length > 1 ? (
            <div className="field">
              <label htmlFor={ids.disk}>{t('image.disk')}</label>
              <select id={ids.disk} value={disk} onChange={(e) => setDisk(e.target.value)}>
                {point.disks.map((d) => (
                  <option key={d.name} value={d.name}>
                    {d.name} ({d.role}, {formatSize(d.size, lang)})
                  </option>
                ))}
              </select>
            </div>
          ) : null}
          <div className="field">
            <label htmlFor={ids.name}>{t('image.name')}</label>
            <input id={ids.name} type="text" value={name} required maxLength={128} onChange={(e) => setName(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor={ids.desc}>
              {t('common.description')} <span className="hint">{t('common.optional')}</span>
            </label>
            <textarea id={ids.desc} value={description} maxLength={1024} rows={2} onChange={(e) => setDescription(e.target.value)} />
          </div>
        </>
      )}
    </Modal>
  );
}
