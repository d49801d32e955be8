import { Type, type Static } from '@sinclair/typebox';
import { Nullable, Timestamp } from './common.js';

/** One name in a folder of a backed-up file system, with what `ls -l` shows of it. */
export const FileEntryView = Type.Object({
  name: Type.String(),
  path: Type.String(),
  type: Type.Union([Type.Literal('file'), Type.Literal('directory'), Type.Literal('symlink'), Type.Literal('other')]),
  size: Type.Integer({ minimum: 0 }),
  /** Permission bits (0o7777), without the file type. */
  mode: Type.Integer({ minimum: 0 }),
  uid: Type.Integer({ minimum: 0 }),
  gid: Type.Integer({ minimum: 0 }),
  nlink: Type.Integer({ minimum: 0 }),
  /** Names with the same inode in one file system are hard links to one file. */
  inode: Type.Integer({ minimum: 0 }),
  mtime: Timestamp,
  /** A symlink's target as stored; null for anything else. */
  target: Nullable(Type.String()),
});
export type FileEntryView = Static<typeof FileEntryView>;

/** A partition of a disk (number null: the whole disk, which has no partition table), and the file system it holds. */
export const FileVolumeView = Type.Object({
  number: Nullable(Type.Integer({ minimum: 1 })),
  start: Type.Integer({ minimum: 0 }),
  size: Type.Integer({ minimum: 0 }),
  type: Type.String(),
  name: Type.String(),
  filesystem: Nullable(Type.String()),
});
export type FileVolumeView = Static<typeof FileVolumeView>;

/** A folder of a point's or an image's disk, with the disks and partitions one could read instead. */
export const FileListingView = Type.Object({
  disk: Type.String(),
  disks: Type.Array(Type.Object({ name: Type.String(), size: Type.Integer({ minimum: 0 }) })),
  table: Type.Union([Type.Literal('none'), Type.Literal('mbr'), Type.Literal('gpt')]),
  partitions: Type.Array(FileVolumeView),
  partition: Nullable(Type.Integer({ minimum: 1 })),
  filesystem: Type.String(),
  path: Type.String(),
  entries: Type.Array(FileEntryView),
});
export type FileListingView = Static<typeof FileListingView>;
