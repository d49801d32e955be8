import { loadNativeHelper } from './native-helper.js';

/** The native helper in native/malloc_tuning.c, built by `npm install` (node-gyp). */
interface MallocTuningAddon {
  retainFreedMemory(trimThreshold: number, topPad: number, mmapThreshold: number): boolean;
}

const MiB = 1024 * 1024;

/**
 * Keeps memory that glibc malloc frees with the process instead of handing
 * it back to the kernel at once, for processes that move disks through
 * memory: a server receiving a backup frees and reallocates its socket
 * buffers (64 KiB each, tens of thousands per backup) all the time, and
 * each page given back faults in again on reuse. On our test VM, where a
 * page fault costs about 10 µs, this took the server's faults during a
 * 2 GiB backup from 57–76 thousand to about 20 thousand, and its CPU time
 * from 3.3–3.7 s to 2.4–2.9 s.
 *
 * The price is that the process keeps what it freed up to its peak (memory
 * above `trim` free at once is still given back), which for these
 * processes is bounded by design. Large blocks still come from their own
 * mappings from `mmap` up, as glibc's adaptive threshold would have it after
 * the first few; fixing the threshold keeps that from changing with load.
 * Returns whether the allocator took the settings (false without the helper,
 * or with another C library than glibc).
 */
export function retainFreedMemory(): boolean {
  const addon = loadNativeHelper<MallocTuningAddon>('malloc_tuning');
  return addon?.retainFreedMemory(512 * MiB, 64 * MiB, 32 * MiB) ?? false;
}
