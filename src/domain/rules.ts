import { badRequest } from './errors.js';

export const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
export const MIN_PASSWORD = 8;
export const MAX_DISK_SIZE = 64 * 2 ** 40;

export function normalizeEmail(email: string): string {
  const e = email.trim().toLowerCase();
  if (!EMAIL_RE.test(e) || e.length > 254) throw badRequest(`"${email}" is not an email address.`, 'email');
  return e;
}

export function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD) throw badRequest(`The password must have at least ${MIN_PASSWORD} characters.`, 'password');
}

/**
 * Text without control characters (C0, DEL, C1), as a JSON-schema pattern: names
 * end up in logs, terminals, file names and HTTP headers, where a NUL or an escape
 * sequence does harm. The API's name schema (contract/common.ts) and checkName share it.
 */
export const PRINTABLE_PATTERN = '^[^\\u0000-\\u001f\\u007f-\\u009f]*$';
const PRINTABLE = new RegExp(PRINTABLE_PATTERN, 'u');

export function checkName(name: string, field = 'name'): string {
  const n = name.trim();
  if (n.length === 0 || n.length > 128) throw badRequest(`The ${field} must have 1 to 128 characters.`, field);
  if (!PRINTABLE.test(n)) throw badRequest(`The ${field} must not contain control characters (NUL, tabs, line breaks, escapes).`, field);
  return n;
}

export interface DiskSpec {
  name: string;
  size: number;
}

/** A volume is one disk; an instance is a system disk plus zero or more data disks. */
export function checkDisks(kind: 'volume' | 'instance', disks: DiskSpec[]): DiskSpec[] {
  if (kind === 'volume' && disks.length !== 1) throw badRequest('A volume has exactly one disk.', 'disks');
  if (kind === 'instance' && (disks.length < 1 || disks.length > 16))
    throw badRequest('An instance has one system disk and up to 15 data disks.', 'disks');
  const seen = new Set<string>();
  return disks.map((d, i) => {
    const name = checkName(d.name, `disks[${i}].name`);
    if (seen.has(name)) throw badRequest(`Two disks are named "${name}"; disk names must differ.`, `disks[${i}].name`);
    seen.add(name);
    if (!Number.isSafeInteger(d.size) || d.size <= 0 || d.size > MAX_DISK_SIZE)
      throw badRequest(`Disk "${name}" needs a size in bytes between 1 and 64 TiB.`, `disks[${i}].size`);
    return { name, size: d.size };
  });
}
