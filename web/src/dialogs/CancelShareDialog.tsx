import { useEffect, useState } from 'react';
import { api, ApiError, type Share } from '../api';
import { formatDate } from '../format';
import { useI18n } from '../i18n';
import { Modal } from '../ui/Modal';
import { useToast } from '../ui/Toast';
import { BulkResults, eachRow, type BulkResult } from './BulkResults';

type Holder = Share & { chainIds: string[] };

/**
 * 取消共享备份: the chain's recipients, each with a checkbox. With several chains
 * (the list's bulk action) the recipients of all of them are offered, and each
 * chain stops being shared with those of them it was shared with.
 */
export function CancelShareDialog({ chains, open, onClose, onDone }: { chains: { id: string; name: string }[]; open: boolean; onClose(): void; onDone(): void }) {
  const { t, lang } = useI18n();
  const toast = useToast();
  const bulk = chains.length > 1;
  const [shares, setShares] = useState<Holder[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [picked, setPicked] = useState<Set<string>>(new Set());
  const [results, setResults] = useState<BulkResult[] | null>(null);
  const key = chains.map((c) => c.id).join(',');

  useEffect(() => {
    if (!open) return;
    setShares(null);
    setPicked(new Set());
    setLoadError(null);
    setResults(null);
    Promise.all(chains.map((c) => api.get<{ items: Share[] }>(`/chains/${c.id}/shares`).then((r) => r.items.map((s) => ({ ...s, chainId: c.id }))))).then(
      (lists) => {
        const byRecipient = new Map<string, Holder>();
        for (const s of lists.flat()) {
          const h = byRecipient.get(s.recipient.id);
          if (h) h.chainIds.push(s.chainId);
          else byRecipient.set(s.recipient.id, { ...s, chainIds: [s.chainId] });
        }
        setShares([...byRecipient.values()]);
      },
      (e: unknown) => setLoadError(e instanceof Error ? e.message : String(e)),
    );
    // The chains are named by their IDs in `key`.
  }, [open, key]);

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
    if (bulk) {
      const touched = chains.filter((c) => shares!.some((s) => picked.has(s.recipient.id) && s.chainIds.includes(c.id)));
      setResults(
        await eachRow(touched, (c) =>
          api.post(`/chains/${c.id}/shares/cancel`, { recipients: shares!.filter((s) => picked.has(s.recipient.id) && s.chainIds.includes(c.id)).map((s) => s.recipient.id) }),
        ),
      );
      onDone();
      return false as const;
    }
    const res = await api.post<{ cancelled: Share[] }>(`/chains/${chains[0]!.id}/shares/cancel`, { recipients: [...picked] });
    toast.push({ key: 'unshare.done', vars: { count: res.cancelled.length } });
    onDone();
  };

  const body = bulk ? t('unshare.bodyMany', { count: chains.length }) : t('unshare.body', { name: chains[0]!.name || chains[0]!.id });
  return (
    <Modal open={open} onClose={onClose} title={t('unshare.title')} description={body} onSubmit={shares?.length && !results ? submit : undefined} danger wide errorResetKey={picked}>
      {results ? (
        <BulkResults results={results} />
      ) : loadError ? (
        <p className="form-error" role="alert">
          {loadError}
        </p>
      ) : shares === null ? (
        <p role="status">{t('common.loading')}</p>
      ) : shares.length === 0 ? (
        <p>{t(bulk ? 'unshare.noneMany' : 'unshare.none')}</p>
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
                    {bulk
                      ? `· ${t('unshare.onChains', { ids: s.chainIds.join(', ') })}`
                      : `· ${t('chain.sharedAt')} ${formatDate(s.shared_at, lang)}${s.expires_at ? ` · ${t('chain.expiresAt')} ${formatDate(s.expires_at, lang)}` : ''}`}
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
