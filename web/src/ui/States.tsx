import type { ReactNode } from 'react';
import { isKey, useI18n } from '../i18n';

export function Loading() {
  const { t } = useI18n();
  return (
    <p className="state" role="status">
      {t('common.loading')}
    </p>
  );
}

export function LoadError({ error, retry }: { error: Error; retry?(): void }) {
  const { t } = useI18n();
  return (
    <div className="state state-error" role="alert">
      <p>{t('common.loadFailed', { message: error.message })}</p>
      {retry ? (
        <button type="button" className="btn" onClick={retry}>
          {t('common.retry')}
        </button>
      ) : null}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <p className="empty-title">{title}</p>
      {children}
    </div>
  );
}

const TONE: Record<string, string> = {
  available: 'ok',
  successful: 'ok',
  active: 'ok',
  enabledTask: 'ok',
  partial: 'bad',
  running: 'busy',
  working: 'busy',
  pending: 'busy',
  creating: 'busy',
  failed: 'bad',
  deleted: 'muted',
  disabled: 'muted',
  revoked: 'muted',
  online: 'ok',
  offline: 'bad',
};

export function Status({ status }: { status: string }) {
  const { t } = useI18n();
  const key = `status.${status}`;
  const label = isKey(key) ? t(key) : status;
  return <span className={`badge badge-${TONE[status] ?? 'muted'}`}>{label}</span>;
}
