/** Whether a trick took effect in this process, and what was seen: the behaviour checked, or why the plain path serves instead. */
export interface Verdict {
  active: boolean;
  reason: string;
}

export const active = (reason: string): Verdict => ({ active: true, reason });
export const inactive = (reason: string): Verdict => ({ active: false, reason });

/** The first line of what was thrown, for a verdict's reason. */
export function errorLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n', 1)[0]!;
}
