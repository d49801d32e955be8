/**
 * A disk, or a window of one, as the file-system readers see it: random reads
 * by byte offset. Reading past the end yields zeros, as a sparse disk would.
 */
export interface BlockDevice {
  readonly size: number;
  /** Fills `into[offset, offset + length)` with the device's bytes from `position`. */
  read(into: Buffer, offset: number, length: number, position: number): Promise<void>;
  /**
   * The bytes from `position` as a view of memory the device already holds (a
   * decoded chunk), at most `length` of them and maybe fewer (up to where that
   * memory ends), never to be written to; null where it holds none there (a hole).
   * Devices without it are read with read().
   */
  view?(position: number, length: number): Promise<Buffer | null>;
}

/** The bytes [start, start + size) of a device as a device of its own: a partition. */
export function deviceWindow(device: BlockDevice, start: number, size: number): BlockDevice {
  const view = device.view?.bind(device);
  return {
    size,
    ...(view ? { view: (position: number, length: number) => (position < size ? view(start + position, Math.min(length, size - position)) : Promise.resolve(null)) } : {}),
    read: async (into, offset, length, position) => {
      const inside = Math.max(0, Math.min(length, size - position));
      if (inside > 0) await device.read(into, offset, inside, start + position);
      if (inside < length) into.fill(0, offset + Math.max(inside, 0), offset + length);
    },
  };
}

/** `length` bytes at `position`, in a buffer of their own. */
export async function readBytes(device: BlockDevice, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  if (position < device.size) await device.read(buf, 0, Math.min(length, device.size - position), position);
  return buf;
}
