import { tooMany } from '../domain/errors.js';

/**
 * Counts failed sign-ins per account and per address in a sliding window. Kept in
 * memory: each server limits what reaches it, which bounds guessing per server.
 */
export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly maxFailures = 10,
    private readonly windowMs = 15 * 60 * 1000,
    private readonly now = () => Date.now(),
  ) {}

  check(keys: string[]): void {
    for (const key of keys) {
      if (this.recent(key).length >= this.maxFailures)
        throw tooMany('Too many failed sign-ins; wait 15 minutes before trying again.');
    }
  }

  fail(keys: string[]): void {
    for (const key of keys) this.failures.set(key, [...this.recent(key), this.now()]);
  }

  succeed(keys: string[]): void {
    for (const key of keys) this.failures.delete(key);
  }

  private recent(key: string): number[] {
    const cutoff = this.now() - this.windowMs;
    return (this.failures.get(key) ?? []).filter((t) => t > cutoff);
  }
}
