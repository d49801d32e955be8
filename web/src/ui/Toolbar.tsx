import { useEffect, useId, useState, type ReactNode } from 'react';
import { useSearchParams } from 'react-router';
import { useI18n } from '../i18n';
import { Icon } from './Icon';

/** List state lives in the address, so a reload or a shared link shows the same page. */
export function useListParams(defaultLimit = 20) {
  const [params, setParams] = useSearchParams();
  const q = params.get('q') ?? '';
  const offset = Math.max(0, Number(params.get('offset')) || 0);
  const limit = Math.min(100, Math.max(1, Number(params.get('limit')) || defaultLimit));
  const update = (patch: Record<string, string | number | null>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(patch)) {
      if (v === null || v === '' || (k === 'offset' && v === 0) || (k === 'limit' && v === defaultLimit)) next.delete(k);
      else next.set(k, String(v));
    }
    setParams(next, { replace: true });
  };
  return {
    q,
    offset,
    limit,
    params,
    setSearch: (value: string) => update({ q: value, offset: 0 }),
    setPage: (o: number, l: number) => update({ offset: o, limit: l }),
    set: update,
  };
}

export function Toolbar({ search, onSearch, placeholder, onRefresh, children }: { search: string; onSearch(q: string): void; placeholder: string; onRefresh(): void; children?: ReactNode }) {
  const { t } = useI18n();
  const [value, setValue] = useState(search);
  const id = useId();
  useEffect(() => setValue(search), [search]);
  return (
    <div className="toolbar">
      <button type="button" className="btn" onClick={onRefresh} aria-label={t('common.refresh')} title={t('common.refresh')}>
        <Icon name="refresh" />
      </button>
      {children}
      <form
        className="search"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          onSearch(value.trim());
        }}
      >
        <label htmlFor={id} className="sr-only">
          {t('common.search')}
        </label>
        <input
          id={id}
          type="search"
          value={value}
          placeholder={placeholder}
          onChange={(e) => {
            setValue(e.target.value);
            if (e.target.value === '' && search !== '') onSearch('');
          }}
        />
        <button type="submit" className="btn" aria-label={t('common.search')}>
          <Icon name="search" />
        </button>
      </form>
    </div>
  );
}
