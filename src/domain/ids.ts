import { randomBytes } from 'node:crypto';

/** Every kind of ID Cairn hands out, with its QingCloud-style prefix. */
export const ID_PREFIX = {
  account: 'usr',
  volume: 'vol',
  instance: 'i',
  job: 'j',
  point: 'ss',
  image: 'img',
  token: 'tok',
  agent: 'agt',
  event: 'ev',
  notification: 'ntf',
  policy: 'bp',
  task: 'bt',
  run: 'br',
  delivery: 'dlv',
} as const;

export type IdKind = keyof typeof ID_PREFIX;

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** `prefix-` + 8 lowercase alphanumerics, drawn without modulo bias. */
export function newId(kind: IdKind): string {
  let out = '';
  while (out.length < 8) {
    for (const b of randomBytes(16)) {
      // 252 = 7 * 36: rejecting bytes above it keeps every character equally likely.
      if (b < 252 && out.length < 8) out += ALPHABET[b % 36];
    }
  }
  return `${ID_PREFIX[kind]}-${out}`;
}

export function idPattern(kind: IdKind): string {
  return `^${ID_PREFIX[kind]}-[a-z0-9]{8}$`;
}

export function isId(kind: IdKind, value: string): boolean {
  return new RegExp(idPattern(kind)).test(value);
}
