import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { BrowserRouter, Link, Navigate, NavLink, Outlet, Route, Routes, useLocation } from 'react-router';
import { api, ApiError, type NotificationPage } from './api';
import { useI18n, type Key, type Lang } from './i18n';
import { usePageTitle } from './pages/common';
import { ActivityPage } from './pages/Activity';
import { BackupsPage } from './pages/Backups';
import { ChainPage } from './pages/Chain';
import { ImagesPage } from './pages/Images';
import { FilesPage } from './pages/Files';
import { JobsPage } from './pages/Jobs';
import { PoliciesPage } from './pages/Policies';
import { TasksPage } from './pages/Tasks';
import { RecyclePage } from './pages/Recycle';
import { SharedChainPage, SharedPage } from './pages/Shared';
import { SubaccountsPage } from './pages/Subaccounts';
import { TokensPage } from './pages/Tokens';
import { ResourcesPage } from './pages/Resources';
import { AgentsPage } from './pages/Agents';
import { Home, StartPage } from './pages/Start';
import { useSession } from './session';
import { ToastProvider } from './ui/Toast';
import { REFRESH_EVENT } from './ui/useFetch';
import { Icon } from './ui/Icon';

export function App() {
  return (
    <BrowserRouter>
      <ToastProvider>
        <Root />
      </ToastProvider>
    </BrowserRouter>
  );
}

function Root() {
  const { state } = useSession();
  const { t } = useI18n();
  if (state.kind === 'loading')
    return (
      <p className="state" role="status">
        {t('common.loading')}
      </p>
    );
  if (state.kind === 'signedOut') return <AuthPage reason={state.reason} email={state.email} />;
  return (
    <Routes>
      <Route element={<Shell />}>
        <Route index element={<Home />} />
        <Route path="login" element={<Navigate to="/" replace />} />
        <Route path="register" element={<Navigate to="/" replace />} />
        <Route path="backups" element={<BackupsPage />} />
        <Route path="backups/:id" element={<ChainPage />} />
        <Route path="shared" element={<SharedPage />} />
        <Route path="shared/:id" element={<SharedChainPage />} />
        <Route path="recycle-bin" element={<RecyclePage />} />
        <Route path="images" element={<ImagesPage />} />
        <Route path="files/:kind/:id" element={<FilesPage />} />
        <Route path="jobs" element={<JobsPage />} />
        <Route path="tasks" element={<TasksPage />} />
        <Route path="policies" element={<PoliciesPage />} />
        <Route path="activity" element={<ActivityPage />} />
        <Route path="subaccounts" element={<SubaccountsPage />} />
        <Route path="tokens" element={<TokensPage />} />
        <Route path="resources" element={<ResourcesPage />} />
        <Route path="agents" element={<AgentsPage />} />
        <Route path="start" element={<StartPage />} />
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}

function NotFound() {
  const { t } = useI18n();
  return (
    <div className="state">
      <p>{t('error.notFoundPage')}</p>
      <Link to="/backups">{t('nav.backups')}</Link>
    </div>
  );
}

function LanguageSwitch() {
  const { lang, setLang, t } = useI18n();
  const { state } = useSession();
  const id = useId();
  const choose = (l: Lang) => {
    setLang(l);
    // Signed in, the choice is also the account's: its mails follow it (e.g. backup task notifications).
    if (state.kind === 'signedIn') void api.patch('/account', { language: l === 'zh-CN' ? 'zh' : 'en' }).catch(() => undefined);
  };
  return (
    <div className="lang">
      <label htmlFor={id} className="sr-only">
        {t('header.language')}
      </label>
      <select id={id} value={lang} onChange={(e) => choose(e.target.value as Lang)}>
        <option value="zh-CN" lang="zh-CN">
          中文
        </option>
        <option value="en" lang="en">
          English
        </option>
      </select>
    </div>
  );
}

function Shell() {
  const { t } = useI18n();
  const location = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  const [unread, setUnread] = useState(0);

  useEffect(() => setMenuOpen(false), [location.pathname]);
  useEffect(() => {
    let stop = false;
    const load = () =>
      api.get<NotificationPage>('/notifications', { unread: true, limit: 1 }).then(
        (r) => !stop && setUnread(r.unread_count),
        () => undefined,
      );
    void load();
    const timer = setInterval(() => document.visibilityState === 'visible' && void load(), 30_000);
    const onRead = () => void load();
    window.addEventListener('cairn:notifications', onRead);
    return () => {
      stop = true;
      clearInterval(timer);
      window.removeEventListener('cairn:notifications', onRead);
    };
  }, [location.pathname]);

  const link = (to: string, label: string) => (
    <li>
      <NavLink
        to={to}
        className={({ isActive }) => (isActive ? 'nav-link active' : 'nav-link')}
        onClick={() => {
          if (location.pathname === to) window.dispatchEvent(new Event(REFRESH_EVENT));
        }}
      >
        {label}
      </NavLink>
    </li>
  );

  return (
    <div className="shell">
      <a href="#main" className="skip">
        {t('app.skip')}
      </a>
      <header className="topbar">
        <button type="button" className="icon-btn menu-toggle" aria-expanded={menuOpen} aria-controls="sidenav" aria-label={t('header.menu')} onClick={() => setMenuOpen((o) => !o)}>
          <Icon name="menu" size={20} />
        </button>
        <Link to="/backups" className="brand">
          <img src="/favicon.svg" alt="" width="22" height="22" />
          <span>Cairn</span>
        </Link>
        <div className="topbar-right">
          <LanguageSwitch />
          <Link to="/activity" className="bell" aria-label={t('header.notifications', { count: unread })} title={t('header.notifications', { count: unread })}>
            <Icon name="bell" size={18} />
            {unread > 0 ? (
              <span className="bell-count" aria-hidden="true">
                {unread}
              </span>
            ) : null}
          </Link>
          <AccountMenu />
        </div>
      </header>
      <div className="body">
        <nav id="sidenav" className={menuOpen ? 'sidenav open' : 'sidenav'} aria-label={t('nav.main')}>
          <ul>
            {link('/start', t('nav.start'))}
            {link('/resources', t('nav.resources'))}
            {link('/agents', t('nav.agents'))}
          </ul>
          <p className="nav-section">{t('nav.backup')}</p>
          <ul>
            {link('/backups', t('nav.backups'))}
            {link('/shared', t('nav.shared'))}
            {link('/recycle-bin', t('nav.recycle'))}
            {link('/tasks', t('nav.tasks'))}
            {link('/policies', t('nav.policies'))}
          </ul>
          <ul>
            {link('/images', t('nav.images'))}
            {link('/jobs', t('nav.jobs'))}
            {link('/activity', t('nav.activity'))}
          </ul>
          <p className="nav-section">{t('nav.accountSection')}</p>
          <ul>
            {link('/subaccounts', t('nav.subaccounts'))}
            {link('/tokens', t('nav.tokens'))}
          </ul>
        </nav>
        <main id="main" tabIndex={-1}>
          <Outlet />
        </main>
      </div>
    </div>
  );
}

function AccountMenu() {
  const { t } = useI18n();
  const { state, signOut } = useSession();
  const [open, setOpen] = useState(false);
  const [copied, setCopied] = useState(false);
  const root = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const panelId = useId();

  useEffect(() => {
    if (!open) return;
    const onDown = (e: MouseEvent) => {
      if (!root.current?.contains(e.target as Node)) setOpen(false);
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        setOpen(false);
        button.current?.focus();
      }
    };
    document.addEventListener('mousedown', onDown);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('mousedown', onDown);
      document.removeEventListener('keydown', onKey);
    };
  }, [open]);

  if (state.kind !== 'signedIn') return null;
  const a = state.account;
  return (
    <div className="account" ref={root}>
      {/* Named by its own text ("Account" for screen readers, then the email), so the name holds what is seen (axe: label-content-name-mismatch). */}
      <button ref={button} type="button" className="account-btn" aria-expanded={open} aria-controls={panelId} onClick={() => setOpen((o) => !o)}>
        <span className="avatar" aria-hidden="true">
          {a.email.slice(0, 1).toUpperCase()}
        </span>
        <span className="sr-only">{t('header.accountLabel')} </span>
        <span className="account-email">{a.email}</span>
        <span aria-hidden="true">▾</span>
      </button>
      {open ? (
        <div className="account-panel" id={panelId}>
          <dl>
            <dt>{t('header.email')}</dt>
            <dd data-testid="account-email">{a.email}</dd>
            <dt>{t('header.accountId')}</dt>
            <dd>
              <code data-testid="account-id">{a.id}</code>{' '}
              <button
                type="button"
                className="btn btn-small"
                onClick={() => {
                  void navigator.clipboard?.writeText(a.id).then(() => setCopied(true));
                }}
              >
                {copied ? t('header.copied') : t('header.copyId')}
              </button>
            </dd>
            {a.parent_id ? (
              <>
                <dt className="sr-only">{t('nav.subaccounts')}</dt>
                <dd className="hint">{t('header.subaccountOf', { id: a.parent_id })}</dd>
              </>
            ) : null}
          </dl>
          <button type="button" className="btn btn-block" onClick={() => void signOut()}>
            {t('header.signOut')}
          </button>
        </div>
      ) : null}
    </div>
  );
}

function AuthPage({ reason, email: knownEmail }: { reason: Key | null; email?: string }) {
  const { t } = useI18n();
  const { signIn, register } = useSession();
  const location = useLocation();
  const [mode, setMode] = useState<'signIn' | 'register'>(location.pathname === '/register' ? 'register' : 'signIn');
  const [email, setEmail] = useState(knownEmail ?? '');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<{ text: string; field?: string } | null>(null);
  const [notice, setNotice] = useState<string | null>(reason ? t(reason) : null);
  const [busy, setBusy] = useState(false);
  const ids = { email: useId(), password: useId(), hint: useId(), err: useId() };
  usePageTitle(mode === 'signIn' ? t('auth.signIn') : t('auth.register'));

  useEffect(() => setNotice(reason ? t(reason) : null), [reason, t]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (mode === 'register') {
        const account = await register(email.trim(), password);
        setMode('signIn');
        setPassword('');
        setNotice(t('auth.registered', { email: account.email }));
      } else {
        await signIn(email.trim(), password);
      }
    } catch (err) {
      setError({ text: err instanceof ApiError || err instanceof Error ? err.message : String(err), field: err instanceof ApiError ? err.field : undefined });
    } finally {
      setBusy(false);
    }
  };

  const title = mode === 'signIn' ? t('auth.signIn') : t('auth.register');
  return (
    <div className="auth">
      <div className="auth-top">
        <LanguageSwitch />
      </div>
      <main className="auth-card" id="main">
        <div className="auth-brand">
          <img src="/favicon.svg" alt="" width="36" height="36" />
          <div>
            <p className="auth-name">Cairn</p>
            <p className="hint">{t('app.tagline')}</p>
          </div>
        </div>
        <h1>{title}</h1>
        {notice ? (
          <p className="notice" role="status">
            {notice}
          </p>
        ) : null}
        <form onSubmit={submit} noValidate>
          <div className="field">
            <label htmlFor={ids.email}>{t('auth.email')}</label>
            <input id={ids.email} type="email" autoComplete="username" value={email} onChange={(e) => setEmail(e.target.value)} required aria-invalid={error?.field === 'email' || undefined} aria-describedby={error ? ids.err : undefined} />
          </div>
          <div className="field">
            <label htmlFor={ids.password}>{t('auth.password')}</label>
            <input
              id={ids.password}
              type="password"
              autoComplete={mode === 'signIn' ? 'current-password' : 'new-password'}
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              required
              minLength={mode === 'register' ? 8 : undefined}
              aria-invalid={error?.field === 'password' || undefined}
              aria-describedby={[mode === 'register' ? ids.hint : '', error ? ids.err : ''].filter(Boolean).join(' ') || undefined}
            />
            {mode === 'register' ? (
              <p className="hint" id={ids.hint}>
                {t('auth.passwordHint')}
              </p>
            ) : null}
          </div>
          {error ? (
            <p className="form-error" role="alert" id={ids.err}>
              {error.text}
            </p>
          ) : null}
          <button type="submit" className="btn btn-primary btn-block" disabled={busy} aria-busy={busy}>
            {busy ? t('common.working') : title}
          </button>
        </form>
        <p className="auth-switch">
          {mode === 'signIn' ? t('auth.noAccount') : t('auth.haveAccount')}{' '}
          <button
            type="button"
            className="link-btn"
            onClick={() => {
              setMode(mode === 'signIn' ? 'register' : 'signIn');
              setError(null);
              setNotice(null);
            }}
          >
            {mode === 'signIn' ? t('auth.register') : t('auth.signIn')}
          </button>
        </p>
      </main>
    </div>
  );
}
