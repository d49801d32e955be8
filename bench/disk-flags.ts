import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { PRESETS, type DiskPreset } from './disk-image.js';

/** The flags of every benchmark that backs a disk up with a Cairn build (bench/run.ts, bench/pair.ts), for parseArgs. */
export const DISK_FLAGS = {
  quick: { type: 'boolean' },
  large: { type: 'boolean' },
  rounds: { type: 'string' },
  seed: { type: 'string' },
  'no-drop-caches': { type: 'boolean' },
  cairn: { type: 'string' },
  work: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface DiskFlags {
  preset: DiskPreset;
  rounds: number;
  seed: string;
  dropCaches: boolean;
  /** The build measured (bin/ and dist/src/). */
  cairnRoot: string;
  /** Where servers' data, repositories and restored disks go. */
  work: string;
}

type DiskValues = { [K in keyof typeof DISK_FLAGS]?: (typeof DISK_FLAGS)[K]['type'] extends 'boolean' ? boolean : string };

/** What DISK_FLAGS said, checked: `rounds` unless told (1 with --quick); `root` is this checkout's build. */
export function readDiskFlags(values: DiskValues, root: string, rounds = 3): DiskFlags {
  if (values.quick && values.large) throw new Error('--quick and --large exclude each other');
  const count = values.rounds !== undefined ? Number(values.rounds) : values.quick ? 1 : rounds;
  if (!Number.isInteger(count) || count < 1) throw new Error(`--rounds wants a positive integer, got "${values.rounds}"`);
  return {
    preset: values.quick ? PRESETS.quick : values.large ? PRESETS.large : PRESETS.standard,
    rounds: count,
    seed: values.seed ?? '1',
    dropCaches: !values['no-drop-caches'],
    cairnRoot: resolve(values.cairn ?? root),
    work: values.work ?? tmpdir(),
  };
}
