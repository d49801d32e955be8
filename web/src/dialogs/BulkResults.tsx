import { useI18n } from '../i18n';

export interface BulkResult {
  id: string;
  name: string;
  /** null when it worked; else what went wrong for this row. */
  error: string | null;
}

/** The outcome of an action on several rows, one line each: what worked and, for each failure, why. */
export function BulkResults({ results }: { results: BulkResult[] }) {
  const { t } = useI18n();
  const failed = results.filter((r) => r.error).length;
  return (
    <div className="bulk-summary">
      <p role="status" className={failed ? 'form-error' : 'notice'}>
        {t('bulk.summary', { ok: results.length - failed, total: results.length, failed })}
      </p>
      <ul className="bulk-results" aria-label={t('bulk.results')}>
        {results.map((r) => (
          <li key={r.id} data-result-id={r.id} data-ok={r.error ? 'false' : 'true'}>
            <strong>{r.name || r.id}</strong> <code className="id">{r.id}</code>: {r.error ? <span className="field-error">{r.error}</span> : <span>{t('bulk.ok')}</span>}
          </li>
        ))}
      </ul>
    </div>
  );
}

/** Runs `act` on each row in turn (not at once: the server checks each against the others' effects) and records each outcome. */
export async function eachRow<T extends { id: string; name: string }>(rows: T[], act: (row: T) => Promise<unknown>): Promise<BulkResult[]> {
  const out: BulkResult[] = [];
  for (const row of rows) {
    try {
      await act(row);
      out.push({ id: row.id, name: row.name, error: null });
    } catch (err) {
      out.push({ id: row.id, name: row.name, error: err instanceof Error ? err.message : String(err) });
    }
  }
  return out;
}
