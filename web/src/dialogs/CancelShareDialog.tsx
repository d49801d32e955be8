import { useEffect, useState } from 'react';
import { api, ApiError, type Share } from '../api';
import { formatDate } from '../format';
import { useI18n } from '../i18n';
import { Modal } from '../ui/Modal';
import { useToast } from '../ui/Toast';

/** 取消共享备份: the chain's recipients, each with a checkbox. */
export function CancelShareDialog({ chain, open, onClose, onDone }: { chain: { id: string; name: string }; open: boolean; onClose(): void; onDone(): void }) {
  const { t, lang } = useI18n();
  const toast = useToast();
  const [shares, setShares] = useState<Share[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [picked, setPicked] = useState<Set<string>>(new Set());

  useEffect(() => {
    if (!open) return;
    setShares(null);
    setPicked(new Set());
    setLoadError(null);
    api.get<{ items: Share[] }>(`/chains/${chain.id}/shares`).then(
      (r) => setShares(r.items),
      (e: unknown) => setLoadError(e instanceof Error ? e.message : String(e)),
    );
  }, [open, chain.id]);

  const all = !!shares?.length && shares.every((s) => picked.has(s.recipient.id));
  const toggle = (id: string, on: boolean) =>
    setPicked((p) => {
      const n = new Set(p);
      if (on) n.add(id);
      else n.delete(id);
      return n;
    });

  const submit = async () => {
    if (picked.size === 0) throw new ApiError(400, 'client', t('unshare.pick'));
    const res = await api.post<{ cancelled: Share[] }>(`/chains/${chain.id}/shares/cancel`, { recipients: [...picked] });
    toast.push(t('unshare.done', { count: res.cancelled.length }));
    onDone();
  };

  return (
    <Modal open={open} onClose={onClose} title={t('unshare.title')} description={t('unshare.body', { name: chain.name || chain.id })} onSubmit={shares?.length ? submit : undefined} danger wide>
      {loadError ? (
        <p className="form-error" role="alert">
          {loadError}
        </p>
      ) : shares === null ? (
        <p role="status">{t('common.loading')}</p>
      ) : shares.length === 0 ? (
        <p>{t('unshare.none')}</p>
      ) : (
        <fieldset className="field">
          <legend>{t('chain.shares')}</legend>
          <label className="check-all">
            <input type="checkbox" checked={all} onChange={(e) => setPicked(e.target.checked ? new Set(shares.map((s) => s.recipient.id)) : new Set())} />
            <span>{t('unshare.all')}</span>
          </label>
          <ul className="checklist">
            {shares.map((s) => (
              <li key={s.recipient.id} data-recipient={s.recipient.email}>
                <label>
                  <input type="checkbox" checked={picked.has(s.recipient.id)} onChange={(e) => toggle(s.recipient.id, e.target.checked)} />
                  <span>{s.recipient.email}</span> <code>{s.recipient.id}</code>
                  <span className="hint">
                    {' '}
                    · {t('chain.sharedAt')} {formatDate(s.shared_at, lang)}
                    {s.expires_at ? ` · ${t('chain.expiresAt')} ${formatDate(s.expires_at, lang)}` : ''}
                  </span>
                </label>
              </li>
            ))}
          </ul>
        </fieldset>
      )}
    </Modal>
  );
}
