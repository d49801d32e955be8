import { badRequest } from '../domain/errors.js';

/** A password from the flag, then CAIRN_PASSWORD, then piped standard input: scripts never face a prompt. */
export async function readSecret(flag: string | undefined, what: string): Promise<string> {
  if (flag) return flag;
  if (process.env.CAIRN_PASSWORD) return process.env.CAIRN_PASSWORD;
  if (!process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
    if (text) return text;
  }
  throw badRequest(`No ${what} given: pass --${what}, set CAIRN_PASSWORD, or pipe it on standard input.`, what);
}
