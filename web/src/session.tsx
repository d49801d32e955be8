import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { timeZone } from './format';
import { api, csrf, setUnauthorizedHandler, type Account, type SessionView } from './api';
import type { Key } from './i18n';

type State =
  | { kind: 'loading' }
  | { kind: 'signedOut'; reason: Key | null; email?: string }
  | { kind: 'signedIn'; account: Account };

export interface Session {
  state: State;
  signIn(email: string, password: string): Promise<void>;
  signOut(): Promise<void>;
  register(email: string, password: string): Promise<Account>;
}

const Ctx = createContext<Session | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<State>({ kind: 'loading' });

  useEffect(() => {
    setUnauthorizedHandler(() => {
      csrf.set(null);
      setState({ kind: 'signedOut', reason: 'auth.expired' });
    });
    let cancelled = false;
    (async () => {
      try {
        const res = await api.get<SessionView>('/account');
        // The server hands the session's token to the session's own GET /account, so a new tab need not sign in.
        if (res.csrf_token) csrf.set(res.csrf_token);
        if (cancelled) return;
        if (csrf.get()) setState({ kind: 'signedIn', account: res.account });
        else setState({ kind: 'signedOut', reason: 'auth.again', email: res.account.email });
      } catch {
        if (cancelled) return;
        csrf.set(null);
        setState({ kind: 'signedOut', reason: null });
      }
    })();
    return () => {
      cancelled = true;
      setUnauthorizedHandler(null);
    };
  }, []);

  const signIn = useCallback(async (email: string, password: string) => {
    const res = await api.post<SessionView>('/sessions', { email, password });
    csrf.set(res.csrf_token ?? null);
    setState({ kind: 'signedIn', account: res.account });
  }, []);

  const signOut = useCallback(async () => {
    try {
      await api.del('/sessions/current');
    } finally {
      csrf.set(null);
      setState({ kind: 'signedOut', reason: 'auth.signedOut' });
    }
  }, []);

  // A new account starts in the console's language and the browser's time zone.
  const register = useCallback(
    async (email: string, password: string) =>
      (await api.post<{ account: Account }>('/accounts', { email, password, language: document.documentElement.lang === 'zh-CN' ? 'zh' : 'en', timezone: timeZone() })).account,
    [],
  );

  const value = useMemo(() => ({ state, signIn, signOut, register }), [state, signIn, signOut, register]);
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useSession(): Session {
  const v = useContext(Ctx);
  if (!v) throw new Error('useSession outside SessionProvider');
  return v;
}

/** The signed-in account; only used inside the signed-in layout. */
export function useAccount(): Account {
  const { state } = useSession();
  if (state.kind !== 'signedIn') throw new Error('useAccount while signed out');
  return state.account;
}
