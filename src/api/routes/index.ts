import type { Services } from '../../services/index.js';
import type { Api } from '../types.js';
import { accessKeyRoutes } from './access-keys.js';
import { accountRoutes } from './accounts.js';
import { backupRoutes } from './backups.js';
import { fileRoutes } from './files.js';
import { jobRoutes } from './jobs.js';
import { resourceRoutes } from './resources.js';
import { sharingRoutes } from './sharing.js';
import { taskRoutes } from './tasks.js';

export async function registerRoutes(app: Api, s: Services): Promise<void> {
  accountRoutes(app, s);
  accessKeyRoutes(app, s);
  resourceRoutes(app, s);
  jobRoutes(app, s);
  backupRoutes(app, s);
  sharingRoutes(app, s);
  taskRoutes(app, s);
  fileRoutes(app, s);
}
