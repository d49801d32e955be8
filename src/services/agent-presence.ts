import { isoPlus, nowIso } from '../domain/time.js';

/** An agent that has not called in for this long is shown offline and gets no new jobs. */
const AGENT_ONLINE_MS = 30_000;

export function isAgentOnline(lastSeenAt: string | null): boolean {
  return !!lastSeenAt && lastSeenAt > isoPlus(nowIso(), -AGENT_ONLINE_MS);
}
