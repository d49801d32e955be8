import type { MetadataStore } from '../db/connect.js';
import { Access } from './access.js';
import { AccountsService } from './accounts.js';
import { JobsService } from './jobs.js';
import { ResourcesService } from './resources.js';

export interface ServiceSettings {
  openRegistration: boolean;
}

/** The use cases, wired to one metadata store. The API and the local CLI commands both use this. */
export function createServices(meta: MetadataStore, settings: ServiceSettings) {
  const access = new Access(meta.db);
  const jobs = new JobsService(meta.db, access);
  return {
    meta,
    access,
    accounts: new AccountsService(meta.db, access, { openRegistration: settings.openRegistration }),
    resources: new ResourcesService(meta.db, access),
    jobs,
  };
}

export type Services = ReturnType<typeof createServices>;
