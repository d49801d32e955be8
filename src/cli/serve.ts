import type { Command } from 'commander';
import { loadConfig, type ConfigInput } from '../config.js';
import { capTheYoungGeneration, retainFreedMemory, startFullCollectionsNearTheLimit } from '../runtime/index.js';

export function serveCommand(program: Command): void {
  program
    .command('serve')
    .description('Run the Cairn server (API and web console)')
    .option('--host <address>', 'address to listen on (CAIRN_HOST)', undefined)
    .option('--port <port>', 'port to listen on; 0 picks a free one (CAIRN_PORT)')
    .option('--data-dir <dir>', 'data directory for the SQLite file and chunks (CAIRN_DATA_DIR)')
    .option('--database <url>', 'postgres://… or an SQLite file path (CAIRN_DATABASE)')
    .option('--chunk-dir <dir>', 'folder of the chunk store (CAIRN_CHUNK_DIR)')
    .option('--chunk-store <url>', 's3://BUCKET[/PREFIX]: keep chunks in an S3 bucket instead of the folder (CAIRN_CHUNK_STORE); credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION or AWS_PROFILE')
    .option('--s3-endpoint <url>', 'S3 endpoint, e.g. http://127.0.0.1:7480 for Ceph RGW; default: AWS (CAIRN_S3_ENDPOINT)')
    .option('--s3-path-style', 'address the bucket in the path, as Ceph RGW and MinIO need (CAIRN_S3_PATH_STYLE=true)')
    .option('--registration <mode>', 'open or closed (invite-only) (CAIRN_REGISTRATION)')
    .option('--admin-email <email>', 'make this account an administrator at start (CAIRN_ADMIN_EMAIL)')
    .option('--chain-max-length <n>', 'points per backup chain (CAIRN_CHAIN_MAX_LENGTH)')
    .option('--recycle-hours <h>', 'how long deleted backups stay restorable (CAIRN_RECYCLE_HOURS)')
    .option('--gc-grace-seconds <s>', 'age below which unreferenced chunks are kept (CAIRN_GC_GRACE_SECONDS)')
    .option('--agent-timeout-seconds <s>', 'how long a job waits for an offline agent (CAIRN_AGENT_TIMEOUT_SECONDS)')
    .option('--upload-idle-seconds <s>', 'an upload with no request for this long is abandoned (CAIRN_UPLOAD_IDLE_SECONDS)')
    .option('--gc-interval-minutes <m>', 'how often garbage collection runs (CAIRN_GC_INTERVAL_MINUTES)')
    .option('--housekeeping-lease-seconds <s>', 'how long after a server dies another takes its housekeeping over; default 30 (CAIRN_HOUSEKEEPING_LEASE_SECONDS)')
    .option('--max-recipients <n>', 'accounts one chain can be shared with (CAIRN_MAX_RECIPIENTS)')
    .option('--max-shares <n>', 'active shares one account can make (CAIRN_MAX_SHARES)')
    .option('--tls-cert <file>', 'serve HTTPS with this PEM certificate (its chain after it); read again on SIGHUP (CAIRN_TLS_CERT)')
    .option('--tls-key <file>', 'the certificate\'s PEM private key (CAIRN_TLS_KEY)')
    .option('--trust-proxy <addresses>', 'load balancers in front (IP addresses or CIDR ranges, comma-separated) whose X-Forwarded-For names the client and whose X-Forwarded-Proto: https makes session cookies Secure (CAIRN_TRUST_PROXY)')
    .option('--web-dir <dir>', 'folder of the built web console (CAIRN_WEB_DIR); default: the one in this package')
    .option('--smtp-host <host>', 'SMTP server for backup policies\' mails; none: no mail is sent (CAIRN_SMTP_HOST)')
    .option('--smtp-port <port>', 'SMTP port; default 587, or 465 with --smtp-tls (CAIRN_SMTP_PORT)')
    .option('--smtp-user <user>', 'SMTP sign-in name; its password only from CAIRN_SMTP_PASSWORD (CAIRN_SMTP_USER)')
    .option('--smtp-from <address>', 'sender of the mails, e.g. "Cairn <backup@example.com>" (CAIRN_SMTP_FROM)')
    .option('--smtp-tls', 'TLS from the first byte (port 465); without it STARTTLS is used when offered (CAIRN_SMTP_TLS=true)')
    .option('--master-key-file <file>', 'encrypt chunks, manifests and secrets at rest under the keys in this file, kept outside the data directory; make it with `cairn admin master-key new FILE` (CAIRN_MASTER_KEY_FILE)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug (CAIRN_LOG_LEVEL)')
    .action(async (opts: ConfigInput) => {
      const config = loadConfig(opts);
      startFullCollectionsNearTheLimit();
      capTheYoungGeneration();
      retainFreedMemory('server');
      // Loaded here, not at the top: every other command starts faster without the server's modules.
      const { startServer } = await import('../app.js');
      const running = await startServer(config);
      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        running.app.log.info({ signal }, 'shutting down');
        await running.close();
        process.exit(0);
      };
      // Before the address is printed: whoever reads it may stop the server at once, and
      // until a handler is installed the signal's default action ends the process uncleanly.
      process.on('SIGTERM', () => void stop('SIGTERM'));
      process.on('SIGINT', () => void stop('SIGINT'));
      // Renewed certificates (certbot, an operator) are taken up without a restart;
      // without TLS, SIGHUP keeps its default (the process ends) as before.
      if (config.tls)
        process.on('SIGHUP', () => {
          try {
            running.reloadTls();
          } catch (err) {
            running.app.log.error({ err }, 'TLS certificate not reloaded: the old one is still served');
          }
        });
      // Printed on its own line so scripts and tests can find the address when --port 0 is used.
      process.stdout.write(`cairn listening on ${running.url}\n`);
    });
}
