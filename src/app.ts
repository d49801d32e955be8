import { mkdirSync } from 'node:fs';
import type { Config } from './config.js';
import { openMetadataStore } from './db/connect.js';
import { buildServer, type App } from './api/server.js';
import { createServices, type Services } from './services/index.js';
import { VERSION } from './version.js';

export interface Running {
  app: App;
  services: Services;
  url: string;
  close(): Promise<void>;
}

/** The composition root: one metadata store, one chunk store, the services, the HTTP server and the background loops. */
export async function startServer(config: Config): Promise<Running> {
  mkdirSync(config.dataDir, { recursive: true });
  const meta = await openMetadataStore(config.databaseUrl);
  const services = createServices(meta, { openRegistration: config.openRegistration });
  if (config.adminEmail) await services.accounts.ensureAdmin(config.adminEmail, process.env.CAIRN_ADMIN_PASSWORD);
  const app = await buildServer(services, { logLevel: config.logLevel, version: VERSION, engine: meta.engine, webDir: config.webDir });

  const housekeeping = async () => {
    try {
      const r = await services.jobs.recover({ pendingTimeoutMs: config.agentTimeoutMs });
      if (r.retried || r.failed) app.log.info(r, 'recovered abandoned jobs');
    } catch (err) {
      app.log.error({ err }, 'housekeeping failed');
    }
  };
  // Jobs left working by a previous process are settled before new work arrives.
  await housekeeping();
  const timer = setInterval(() => void housekeeping(), 5_000);
  timer.unref();

  await app.listen({ host: config.host, port: config.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  let closed = false;
  return {
    app,
    services,
    url,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      await app.close();
      await meta.close();
    },
  };
}
