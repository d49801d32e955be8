import { useEffect, useId, useState } from 'react';
import { api, type Point, type Resource } from '../api';
import { formatSize } from '../format';
import { useI18n } from '../i18n';
import { Modal } from '../ui/Modal';
import { useToast } from '../ui/Toast';

/** 创建硬盘: a new volume the size of one disk of the point. */
export function CreateVolumeDialog({ point, open, onClose }: { point: Point; open: boolean; onClose(): void }) {
  const { t, lang } = useI18n();
  const toast = useToast();
  const ids = { name: useId(), disk: useId() };
  const [name, setName] = useState('');
  const [disk, setDisk] = useState('');
  const [made, setMade] = useState<Resource | null>(null);
  useEffect(() => {
    if (open) {
      setMade(null);
      setName(`${point.name || point.id}-volume`.slice(0, 128));
      setDisk(point.disks[0]?.name ?? '');
    }
  }, [open, point]);
  const chosen = point.disks.find((d) => d.name === disk) ?? point.disks[0];
  const submit = async () => {
    const res = await api.post<{ resource: Resource }>(`/points/${point.id}/volumes`, { name: name.trim(), ...(point.disks.length > 1 ? { disk } : {}) });
    toast.push({ key: 'point.volumeCreated', vars: { id: res.resource.id, point: point.id } });
    // No bytes move (the volume is made from the point's manifest), so there is no progress to follow: the result shows at once.
    setMade(res.resource);
    return false as const;
  };
  return (
    <Modal
      open={open}
      onClose={onClose}
      title={t('point.createVolumeTitle')}
      description={t('point.createVolumeBody', { id: point.id, disk: chosen?.name ?? '', size: formatSize(chosen?.size ?? 0, lang) })}
      onSubmit={made ? undefined : submit}
      submitDisabled={!name.trim()}
    >
      {made ? (
        <p className="notice" role="status">
          {t('point.volumeCreated', { id: made.id, point: point.id })}
        </p>
      ) : null}
      {!made && point.disks.length > 1 ? (
        <div className="field">
          <label htmlFor={ids.disk}>{t('point.disk')}</label>
          <select id={ids.disk} value={disk} onChange={(e) => setDisk(e.target.value)}>
            {point.disks.map((d) => (
              <option key={d.name} value={d.name}>
                {d.name} ({formatSize(d.size, lang)})
              </option>
            ))}
          </select>
        </div>
      ) : null}
      {!made ? (
        <div className="field">
          <label htmlFor={ids.name}>{t('point.volumeName')}</label>
          <input id={ids.name} type="text" value={name} maxLength={128} onChange={(e) => setName(e.target.value)} />
        </div>
      ) : null}
    </Modal>
  );
}
