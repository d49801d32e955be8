/** What a backup job a task queued carries beside the type and name every backup job has. */
export interface TaskBackupParams {
  type: 'full' | 'incremental';
  name: string;
  task_id: string;
  run_id: string;
  chain_length: number;
}

/** The task part of a backup job's params (JSON text), or null for a backup by hand. */
export function backupJobOfTask(params: string | undefined): TaskBackupParams | null {
  if (!params) return null;
  const p = JSON.parse(params) as Partial<TaskBackupParams>;
  return typeof p.task_id === 'string' && typeof p.chain_length === 'number' ? (p as TaskBackupParams) : null;
}
