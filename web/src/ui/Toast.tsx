import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';
import { Link } from 'react-router';
import { useI18n, type Key, type Lang } from '../i18n';
import { Icon } from './Icon';

/** A value that depends on the language it is shown in (a date), computed when shown. */
export type ToastVar = string | number | ((lang: Lang) => string);

/**
 * What a toast says, kept as a key and its values rather than as text, so that it
 * reads in the language chosen now even if it was pushed before a switch. A plain
 * string is for text that has no key (a server's message).
 */
export type ToastMessage = string | { key: Key; vars?: Record<string, ToastVar> };

interface Toast {
  id: number;
  message: ToastMessage;
  tone: 'ok' | 'bad';
  link?: { to: string; label: Key };
}

type PushOptions = { tone?: 'ok' | 'bad'; link?: Toast['link'] };
const Ctx = createContext<{ push(message: ToastMessage, opts?: PushOptions): void } | null>(null);
let next = 1;

/** Outcomes of actions, announced politely to screen readers and gone after a while. */
export function ToastProvider({ children }: { children: ReactNode }) {
  const { t, lang } = useI18n();
  const [items, setItems] = useState<Toast[]>([]);
  const dismiss = useCallback((id: number) => setItems((xs) => xs.filter((x) => x.id !== id)), []);
  const push = useCallback(
    (message: ToastMessage, opts: PushOptions = {}) => {
      const id = next++;
      setItems((xs) => [...xs.slice(-3), { id, message, tone: opts.tone ?? 'ok', link: opts.link }]);
      setTimeout(() => dismiss(id), 8000);
    },
    [dismiss],
  );
  const value = useMemo(() => ({ push }), [push]);
  const text = (m: ToastMessage): string => {
    if (typeof m === 'string') return m;
    const vars = Object.fromEntries(Object.entries(m.vars ?? {}).map(([k, v]) => [k, typeof v === 'function' ? v(lang) : v]));
    return t(m.key, vars);
  };
  return (
    <Ctx.Provider value={value}>
      {children}
      <div className="toasts" role="status" aria-live="polite">
        {items.map((x) => (
          <div key={x.id} className={`toast toast-${x.tone}`}>
            <span className="toast-text">{text(x.message)}</span>
            {x.link ? <Link to={x.link.to}>{t(x.link.label)}</Link> : null}
            <button type="button" className="icon-btn" aria-label={t('common.close')} onClick={() => dismiss(x.id)}>
              <Icon name="close" />
            </button>
          </div>
        ))}
      </div>
    </Ctx.Provider>
  );
}

export function useToast() {
  const v = useContext(Ctx);
  if (!v) throw new Error('useToast outside ToastProvider');
  return v;
}
