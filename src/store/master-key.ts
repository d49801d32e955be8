import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';

/** One master key: its ID (8 hex characters, named in every blob it seals) and its 32 bytes. */
export interface MasterKey {
  id: string;
  key: Buffer;
}

const LINE = /^cairn-master-key 1 ([0-9a-f]{8}) ([A-Za-z0-9+/]{43}=)$/;

/**
 * The master keys of a server, read from its key file (docs/formats.md,
 * "Encryption at rest"). The last key of the file seals everything new; the
 * others only open what they sealed, until `cairn admin rekey` has moved it
 * to the newest.
 */
export class MasterKeys {
  private readonly byId: Map<string, MasterKey>;

  constructor(keys: MasterKey[]) {
    if (keys.length === 0) throw new Error('A master key file must hold at least one key.');
    this.byId = new Map(keys.map((k) => [k.id, k]));
    this.current = keys[keys.length - 1]!;
  }

  /** The key that seals new data. */
  readonly current: MasterKey;

  get(id: string): MasterKey | undefined {
    return this.byId.get(id);
  }

  get ids(): string[] {
    return [...this.byId.keys()];
  }
}

export function parseMasterKeys(text: string, path: string): MasterKeys {
  const keys: MasterKey[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = LINE.exec(line);
    if (!m) throw new Error(`Line ${i + 1} of the master key file ${path} is not "cairn-master-key 1 <id> <key>"; make keys with \`cairn admin master-key new ${path}\`.`);
    keys.push({ id: m[1]!, key: Buffer.from(m[2]!, 'base64') });
  });
  if (keys.length === 0) throw new Error(`The master key file ${path} holds no key; make one with \`cairn admin master-key new ${path}\`.`);
  return new MasterKeys(keys);
}

/** Reads the key file, refusing one that others than its owner may read (as ssh does with a private key). */
export function readMasterKeys(path: string): MasterKeys {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (err) {
    throw new Error(`The master key file ${path} cannot be read (${(err as Error).message}); make one with \`cairn admin master-key new ${path}\`.`, { cause: err });
  }
  if (mode & 0o077) throw new Error(`The master key file ${path} may be read by other users (mode ${(mode & 0o777).toString(8)}); run \`chmod 600 ${path}\`.`);
  return parseMasterKeys(readFileSync(path, 'utf8'), path);
}

/**
 * Adds a new key to the file (made 0600 if it is new), which from the next
 * start seals new data; the keys before it stay to open what they sealed.
 */
export function addMasterKey(path: string): MasterKey {
  const key: MasterKey = { id: randomBytes(4).toString('hex'), key: randomBytes(32) };
  const fresh = !existsSync(path);
  if (!fresh) readMasterKeys(path);
  const fd = openSync(path, fresh ? 'wx' : 'a', 0o600);
  try {
    if (fresh) writeSync(fd, '# Cairn master keys (docs/formats.md): the last line seals new data; keep the others until `cairn admin rekey` has finished.\n');
    writeSync(fd, `cairn-master-key 1 ${key.id} ${key.key.toString('base64')}\n`);
  } finally {
    closeSync(fd);
  }
  // The mode given to open is reduced by the umask; the key file is the owner's alone whatever it is.
  chmodSync(path, 0o600);
  return key;
}
