import { spawn, type ChildProcess } from 'node:child_process';
import { cleanEnv } from './tools.js';

/** `cairn serve` on a given database, as an operator would start it; its migrations make or update the schema. */
export class MetaServer {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {}

  static async start(bin: string, database: string, dataDir: string): Promise<MetaServer> {
    // Garbage collection walks every point and chunk; it is its own subject, not this benchmark's.
    const args = [bin, 'serve', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir, '--database', database, '--gc-interval-minutes', '1000000'];
    const child = spawn(process.execPath, args, { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    const keep = (d: string) => {
      tail.push(d);
      if (tail.length > 50) tail.shift();
    };
    child.stderr!.setEncoding('utf8').on('data', keep);
    const url = await new Promise<string>((resolve, reject) => {
      let pending = '';
      // Migrations that build indexes over millions of rows take minutes at full scale.
      const timer = setTimeout(() => reject(new Error(`cairn serve printed no address within 30 minutes: ${tail.join('').slice(-2000)}`)), 30 * 60_000);
      child.stdout!.setEncoding('utf8').on('data', (d: string) => {
        keep(d);
        pending += d;
        const m = /cairn listening on (\S+)/.exec(pending);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        } else if (pending.length > 1e6) pending = pending.slice(-1000);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`cairn serve exited with ${code} before listening: ${tail.join('').slice(-2000)}`));
      });
    });
    return new MetaServer(child, url);
  }

  get pid(): number {
    return this.child.pid!;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGINT');
    await exited;
  }
}
