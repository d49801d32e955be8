import { badRequest } from '../domain/errors.js';

/**
 * A path inside a file system, as the API takes it: absolute or not, always
 * read from the root. `..` is refused rather than resolved, so no request can
 * name anything but what its path spells; `.` and doubled slashes are dropped.
 */
export function filePath(text: string | undefined): string {
  const raw = text ?? '/';
  if (raw.includes('\0')) throw badRequest('A path cannot contain a NUL byte.', 'path');
  if (raw.length > 4096) throw badRequest('A path is at most 4096 bytes long.', 'path');
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw badRequest(`The path ${JSON.stringify(raw)} contains "..": name files from the root, without "..".`, 'path');
  if (parts.some((p) => Buffer.byteLength(p) > 255)) throw badRequest('A file name is at most 255 bytes long.', 'path');
  return '/' + parts.join('/');
}

/** The last name of a path ("/" for the root). */
export function baseName(path: string): string {
  return path === '/' ? '/' : path.slice(path.lastIndexOf('/') + 1);
}

export function joinPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}
