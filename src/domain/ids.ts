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

/** `length` characters of `alphabet` (at most 256 of them), each equally likely: bytes past the last whole multiple of its size are drawn again. */
export function randomChars(alphabet: string, length: number): string {
  const bound = 256 - (256 % alphabet.length);
  let out = '';
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      if (b < bound && out.length < length) out += alphabet[b % alphabet.length];
    }
  }
  return out;
}

/** `prefix-` + 8 lowercase alphanumerics, drawn without modulo bias. */
export function newId(kind: IdKind): string {
  return `${ID_PREFIX[kind]}-${randomChars(ALPHABET, 8)}`;
}

export function idPattern(kind: IdKind): string {
  return `^${ID_PREFIX[kind]}-[a-z0-9]{8}$`;
}

export function isId(kind: IdKind, value: string): boolean {
  return new RegExp(idPattern(kind)).test(value);
}
