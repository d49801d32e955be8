import { useEffect, useId, useState, type KeyboardEvent } from 'react';
import { api, ApiError, type Account, type AccountLookupView, type Page, type Share } from '../api';
import { localInputToIso, timeZone } from '../format';
import { isKey, useI18n } from '../i18n';
import { Modal } from '../ui/Modal';
import { useToast } from '../ui/Toast';
import { Icon } from '../ui/Icon';
import { useAccount } from '../session';
import { BulkResults, eachRow, type BulkResult } from './BulkResults';

interface Entry {
  value: string;
  state: 'checking' | 'found' | 'unknown';
  account?: AccountLookupView;
  error?: string;
}

const SPLIT = /[\s,;，；、]+/;

/**
 * 共享备份: recipients typed by email or ID, and/or picked from the sub-accounts.
 * With several chains (the list's bulk action) each is shared with the same
 * accounts in turn, and the dialog then says, chain by chain, what worked.
 */
export function ShareDialog({ chains, open, onClose, onDone }: { chains: { id: string; name: string }[]; open: boolean; onClose(): void; onDone(): void }) {
  const { t } = useI18n();
  const toast = useToast();
  const me = useAccount();
  const chain = chains[0]!;
  const bulk = chains.length > 1;
  const [results, setResults] = useState<BulkResult[] | null>(null);
  const ids = { input: useId(), hint: useId(), expires: useId(), expiresHint: useId(), note: useId(), list: useId() };
  const [entries, setEntries] = useState<Entry[]>([]);
  const [text, setText] = useState('');
  const [subs, setSubs] = useState<Account[]>([]);
  const [picked, setPicked] = useState<Set<string>>(new Set());
  const [subErrors, setSubErrors] = useState<Record<string, string>>({});
  const [expires, setExpires] = useState('');
  const [note, setNote] = useState('');
  const [formError, setFormError] = useState<string | null>(null);

  useEffect(() => {
    if (!open) return;
    setEntries([]);
    setText('');
    setPicked(new Set());
    setSubErrors({});
    setExpires('');
    setNote('');
    setFormError(null);
    setResults(null);
    api.get<Page<Account>>('/subaccounts', { limit: 100 }).then(
      (p) => setSubs(p.items.filter((a) => a.status === 'active')),
      () => setSubs([]),
    );
  }, [open]);

  const messageFor = (code: string, fallback: string) => {
    const key = `share.err.${code}`;
    if (code === 'unknown_recipient') return t('share.unknown');
    return isKey(key) ? t(key) : fallback;
  };

  const add = (raw: string): Entry[] => {
    const values = raw.split(SPLIT).map((v) => v.trim()).filter(Boolean);
    const fresh = values.filter((v, i) => values.indexOf(v) === i && !entries.some((e) => e.value.toLowerCase() === v.toLowerCase()));
    if (fresh.length === 0) return entries;
    const self = (v: string) => v.toLowerCase() === me.email.toLowerCase() || v === me.id;
    const added: Entry[] = fresh.map((value) => (self(value) ? { value, state: 'unknown', error: t('share.err.self') } : { value, state: 'checking' }));
    const all = [...entries, ...added];
    setEntries(all);
    setText('');
    setFormError(null);
    for (const value of fresh.filter((v) => !self(v))) {
      // A look-up as each one is added tells at once whom the email or ID names.
      api.get<{ account: AccountLookupView }>('/accounts/lookup', { q: value }).then(
        (r) =>
          setEntries((xs) =>
            xs.map((e) => (e.value !== value ? e : r.account.id === me.id ? { ...e, state: 'unknown', error: t('share.err.self') } : { ...e, state: 'found', account: r.account })),
          ),
        (err: unknown) => {
          const unknown = err instanceof ApiError && err.status === 404;
          setEntries((xs) => xs.map((e) => (e.value === value ? { ...e, state: 'unknown', error: unknown ? t('share.unknown') : (err as Error).message } : e)));
        },
      );
    }
    return all;
  };

  const onKey = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      add(text);
    }
  };

  const submit = async () => {
    const list = text.trim() ? add(text) : entries;
    const recipients = [...list.map((e) => e.value), ...[...picked].filter((id) => !list.some((e) => e.value === id || e.account?.id === id))];
    if (recipients.length === 0) {
      setFormError(t('share.needOne'));
      throw new ApiError(400, 'client', t('share.needOne'));
    }
    const body: { recipients: string[]; expires_at?: string; note?: string } = { recipients };
    const exp = localInputToIso(expires);
    if (exp) body.expires_at = exp;
    if (note.trim()) body.note = note.trim();
    if (bulk) {
      const r = await eachRow(chains, (c) => api.post(`/chains/${c.id}/shares`, body).catch((err: unknown) => Promise.reject(withDetails(err))));
      setResults(r);
      onDone();
      return false as const;
    }
    const res = await api.post<{ shares: Share[] }>(`/chains/${chain.id}/shares`, body);
    toast.push({ key: 'share.done', vars: { name: chain.name || chain.id, count: res.shares.length } });
    onDone();
  };

  /** A refused bulk share says which account was wrong for this chain, in the reader's words. */
  const withDetails = (err: unknown): unknown =>
    err instanceof ApiError && err.details?.length ? new Error(err.details.map((d) => `${d.item}: ${messageFor(d.code, d.message)}`).join(' ')) : err;

  const onError = (err: unknown): boolean => {
    if (err instanceof ApiError && err.code === 'client') return true;
    if (!(err instanceof ApiError) || !err.details?.length) return false;
    const byItem = new Map(err.details.map((d) => [d.item, messageFor(d.code, d.message)]));
    setEntries((xs) => xs.map((e) => (byItem.has(e.value) ? { ...e, error: byItem.get(e.value) } : { ...e, error: e.state === 'unknown' ? e.error : undefined })));
    const se: Record<string, string> = {};
    for (const s of subs) if (byItem.has(s.id)) se[s.id] = byItem.get(s.id)!;
    setSubErrors(se);
    const placed = new Set([...entries.map((e) => e.value), ...Object.keys(se)]);
    const rest = err.details.filter((d) => !placed.has(d.item));
    setFormError(rest.length ? rest.map((d) => `${d.item}: ${messageFor(d.code, d.message)}`).join(' ') : null);
    return true;
  };

  return (
    <Modal
      open={open}
      onClose={onClose}
      title={t('share.title')}
      description={bulk ? t('share.bodyMany', { count: chains.length, ids: chains.map((c) => c.id).join(', ') }) : t('share.body', { name: chain.name || chain.id, id: chain.id })}
      onSubmit={results ? undefined : submit}
      onError={onError}
      wide
    >
      {results ? <BulkResults results={results} /> : shareFields()}
    </Modal>
  );

  // Called, not mounted: a component declared here would be new at each render and lose the focused input.
  function shareFields() {
    return (
      <>
        <div className="field">
          <label htmlFor={ids.input}>{t('share.recipients')}</label>
          <div className="input-row">
            <input id={ids.input} type="text" value={text} onChange={(e) => setText(e.target.value)} onKeyDown={onKey} aria-describedby={ids.hint} autoComplete="off" placeholder="name@example.com, usr-xxxxxxxx" />
            <button type="button" className="btn" onClick={() => add(text)} disabled={!text.trim()}>
              {t('share.add')}
            </button>
          </div>
          <p id={ids.hint} className="hint">
            {t('share.recipientsHint')}
          </p>
          {entries.length ? (
            <ul className="recipients" aria-label={t('share.pending')} id={ids.list}>
              {entries.map((e) => (
                <li key={e.value} className={e.error ? 'recipient recipient-bad' : 'recipient'} data-recipient={e.value}>
                  <span className="recipient-value">{e.value}</span>
                  <span className="recipient-state">
                    {e.state === 'checking' ? t('common.loading') : e.account ? (e.account.email && e.account.email !== e.value.toLowerCase() ? e.account.email : e.account.id) : null}
                  </span>
                  {e.error ? (
                    <span className="field-error" role="alert">
                      {e.error}
                    </span>
                  ) : null}
                  <button type="button" className="icon-btn" aria-label={t('share.remove', { item: e.value })} onClick={() => setEntries((xs) => xs.filter((x) => x !== e))}>
                    <Icon name="close" />
                  </button>
                </li>
              ))}
            </ul>
          ) : null}
        </div>
        <fieldset className="field">
          <legend>{t('share.subaccounts')}</legend>
          {subs.length === 0 ? <p className="hint">{t('share.noSubaccounts')}</p> : null}
          <ul className="checklist">
            {subs.map((s) => (
              <li key={s.id} data-subaccount={s.email}>
                <label>
                  <input
                    type="checkbox"
                    checked={picked.has(s.id)}
                    aria-describedby={subErrors[s.id] ? `${ids.list}-${s.id}` : undefined}
                    onChange={(e) =>
                      setPicked((p) => {
                        const n = new Set(p);
                        if (e.target.checked) n.add(s.id);
                        else n.delete(s.id);
                        return n;
                      })
                    }
                  />
                  <span>{s.email}</span> <code>{s.id}</code>
                </label>
                {subErrors[s.id] ? (
                  <span className="field-error" id={`${ids.list}-${s.id}`} role="alert">
                    {subErrors[s.id]}
                  </span>
                ) : null}
              </li>
            ))}
          </ul>
        </fieldset>
        <div className="field-grid">
          <div className="field">
            <label htmlFor={ids.expires}>
              {t('share.expires')} <span className="hint">{t('common.optional')}</span>
            </label>
            <input id={ids.expires} type="datetime-local" value={expires} onChange={(e) => setExpires(e.target.value)} aria-describedby={ids.expiresHint} />
            <p id={ids.expiresHint} className="hint">
              {t('share.expiresHint', { tz: timeZone() })}
            </p>
          </div>
          <div className="field">
            <label htmlFor={ids.note}>
              {t('share.note')} <span className="hint">{t('common.optional')}</span>
            </label>
            <textarea id={ids.note} value={note} maxLength={1000} rows={3} onChange={(e) => setNote(e.target.value)} />
          </div>
        </div>
        {formError ? (
          <p className="form-error" role="alert">
            {formError}
          </p>
        ) : null}
      </>
    );
  }
}
