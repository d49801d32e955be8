import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';
import { Link } from 'react-router';
import { useI18n } from '../i18n';
import { Icon } from './Icon';

interface Toast {
  id: number;
  text: string;
  tone: 'ok' | 'bad';
  link?: { to: string; label: string };
}

const Ctx = createContext<{ push(text: string, opts?: { tone?: 'ok' | 'bad'; link?: Toast['link'] }): void } | null>(null);
let next = 1;

/** Outcomes of actions, announced politely to screen readers and gone after a while. */
export function ToastProvider({ children }: { children: ReactNode }) {
  const { t } = useI18n();
  const [items, setItems] = useState<Toast[]>([]);
  const dismiss = useCallback((id: number) => setItems((xs) => xs.filter((x) => x.id !== id)), []);
  const push = useCallback(
    (text: string, opts: { tone?: 'ok' | 'bad'; link?: Toast['link'] } = {}) => {
      const id = next++;
      setItems((xs) => [...xs.slice(-3), { id, text, tone: opts.tone ?? 'ok', link: opts.link }]);
      setTimeout(() => dismiss(id), 8000);
    },
    [dismiss],
  );
  const value = useMemo(() => ({ push }), [push]);
  return (
    <Ctx.Provider value={value}>
      {children}
      <div className="toasts" role="status" aria-live="polite">
        {items.map((x) => (
          <div key={x.id} className={`toast toast-${x.tone}`}>
            <span className="toast-text">{x.text}</span>
            {x.link ? <Link to={x.link.to}>{x.link.label}</Link> : null}
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
