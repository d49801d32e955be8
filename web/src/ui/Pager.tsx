import { useI18n } from '../i18n';

export const PAGE_SIZES = [10, 20, 50, 100];

export function Pager({ total, offset, limit, onChange }: { total: number; offset: number; limit: number; onChange(offset: number, limit: number): void }) {
  const { t } = useI18n();
  const pages = Math.max(1, Math.ceil(total / limit));
  const page = Math.min(pages, Math.floor(offset / limit) + 1);
  return (
    <nav className="pager" aria-label={t('pager.label')}>
      <span className="pager-total">{t('pager.total', { count: total })}</span>
      <label className="pager-size">
        <span>{t('pager.size')}</span>
        <select value={limit} onChange={(e) => onChange(0, Number(e.target.value))}>
          {PAGE_SIZES.map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
      </label>
      <button type="button" className="btn btn-small" onClick={() => onChange(Math.max(0, offset - limit), limit)} disabled={page <= 1} aria-label={t('pager.prev')}>
        ‹
      </button>
      <span className="pager-page" aria-live="polite">
        {t('pager.page', { page, pages })}
      </span>
      <button type="button" className="btn btn-small" onClick={() => onChange(offset + limit, limit)} disabled={page >= pages} aria-label={t('pager.next')}>
        ›
      </button>
    </nav>
  );
}
