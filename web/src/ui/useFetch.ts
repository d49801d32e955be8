import { useCallback, useEffect, useRef, useState } from 'react';

export const REFRESH_EVENT = 'cairn:refresh';

export interface Fetched<T> {
  data: T | undefined;
  error: Error | null;
  loading: boolean;
  reload(): void;
}

/**
 * Loads when `key` changes and on reload(); an answer that arrives after a newer
 * request started is dropped, so a fast typist never sees an older search win.
 * The previous data stays on screen while the next load runs.
 */
export function useFetch<T>(load: () => Promise<T>, key: string, opts: { pollMs?: number } = {}): Fetched<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<Error | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const seq = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    const mine = ++seq.current;
    setLoading(true);
    loadRef.current().then(
      (d) => {
        if (mine !== seq.current) return;
        setData(d);
        setError(null);
        setLoading(false);
      },
      (e: unknown) => {
        if (mine !== seq.current) return;
        setError(e instanceof Error ? e : new Error(String(e)));
        setLoading(false);
      },
    );
  }, [key, tick]);

  useEffect(() => {
    if (!opts.pollMs) return;
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') setTick((n) => n + 1);
    }, opts.pollMs);
    return () => clearInterval(timer);
  }, [opts.pollMs]);

  // Coming back to the tab, or choosing the current page again in the menu, shows fresh data.
  useEffect(() => {
    const again = () => setTick((n) => n + 1);
    const onVisible = () => document.visibilityState === 'visible' && again();
    window.addEventListener(REFRESH_EVENT, again);
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      window.removeEventListener(REFRESH_EVENT, again);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, []);

  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data, error, loading, reload };
}
