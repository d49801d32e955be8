import { CairnError, notFound } from '../domain/errors.js';
import { deviceWindow, type BlockDevice } from './block-device.js';
import { fileSystemKind, READABLE_KINDS, type FileSystemKind } from './file-system-kind.js';
import { readPartitions, type PartitionTable } from './partitions.js';

/** A place on a disk that may hold a file system: a partition, or the whole disk (number null). */
export interface Volume {
  number: number | null;
  start: number;
  size: number;
  type: string;
  name: string;
  filesystem: FileSystemKind;
}

export interface DiskLayout {
  table: PartitionTable;
  volumes: Volume[];
}

/** The partition table of a disk and the file system of each partition, from a few small reads. */
export async function diskLayout(device: BlockDevice): Promise<DiskLayout> {
  const whole = await fileSystemKind(device);
  const { table, partitions } = await readPartitions(device, whole !== null);
  if (table === 'none') return { table, volumes: [{ number: null, start: 0, size: device.size, type: '', name: '', filesystem: whole }] };
  const volumes: Volume[] = [];
  for (const p of partitions) volumes.push({ ...p, filesystem: await fileSystemKind(deviceWindow(device, p.start, p.size)) });
  return { table, volumes };
}

/**
 * The volume a request reads: the partition it names, or else the first one
 * with a file system Cairn reads. Refused, saying what the disk holds, when
 * that volume has no file system or one Cairn cannot read yet.
 */
export function chooseVolume(layout: DiskLayout, partition: number | undefined, disk: string): Volume {
  const describe = () =>
    layout.table === 'none'
      ? `no partition table`
      : `a ${layout.table.toUpperCase()} partition table with ${layout.volumes.map((v) => `partition ${v.number} (${v.filesystem ?? 'no file system'})`).join(', ')}`;
  let volume: Volume | undefined;
  if (partition !== undefined) {
    volume = layout.volumes.find((v) => v.number === partition);
    if (!volume) {
      if (layout.table === 'none' && partition === 1) volume = layout.volumes[0];
      else throw new CairnError(404, 'not_found', `Disk ${disk} has no partition ${partition}; it has ${describe()}.`);
    }
  } else {
    volume = layout.volumes.find((v) => READABLE_KINDS.includes(v.filesystem)) ?? layout.volumes[0];
  }
  if (!volume) throw notFound('Partition', String(partition ?? 1));
  const where = volume.number === null ? `Disk ${disk}` : `Partition ${volume.number} of disk ${disk}`;
  if (volume.filesystem === null) throw new CairnError(422, 'no_filesystem', `${where} holds no file system Cairn recognizes (the disk has ${describe()}); restore the disk instead, or name another partition.`);
  if (!READABLE_KINDS.includes(volume.filesystem))
    throw new CairnError(422, 'filesystem_unsupported', `${where} holds ${volume.filesystem}, which is not supported yet: only ext2, ext3 and ext4 can be read in place. Restore the disk instead.`);
  return volume;
}
