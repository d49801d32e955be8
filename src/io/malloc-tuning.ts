import { loadNativeHelper } from './native-helper.js';

/** The native helper in native/malloc_tuning.c, built by `npm install` (node-gyp). */
interface MallocTuningAddon {
  retainFreedMemory(trimThreshold: number, topPad: number, arenaMax: number): boolean;
  adviseHugePages(view: Uint8Array): boolean;
  /** What the kernel says its transparent huge pages are (hpage_pmd_size); 0 when it makes none. */
  hugePageSize: number;
}

const MiB = 1024 * 1024;

const addon = loadNativeHelper<MallocTuningAddon>('malloc_tuning');

/**
 * The size of this kernel's transparent huge pages, as the native helper
 * read it: 2 MiB on x86-64 (and arm64 with 4 KiB pages), 512 MiB on arm64
 * with 64 KiB pages; 0 without the helper or without huge pages.
 */
export const HUGE_PAGE_SIZE = addon?.hugePageSize ?? 0;

/** Whether this build and kernel can ask for huge pages at all (adviseHugePages may still be refused). */
export const canAdviseHugePages = typeof addon?.adviseHugePages === 'function' && HUGE_PAGE_SIZE > 0;

/**
 * Keeps memory that glibc malloc frees with the process instead of handing
 * it back to the kernel at once, for processes that move disks through
 * memory: a server receiving a backup frees and reallocates its socket
 * buffers (64 KiB each, tens of thousands per backup) all the time, and
 * each page given back faults in again on reuse. On our test VM, where a
 * page fault costs about 10 µs, this took the server's faults during a
 * 2 GiB backup from 60–77 thousand to about 19 thousand, its CPU time from
 * 3.1–3.6 s to 2.3–2.9 s, and the backup's wall time from 4.7 to 3.9 s.
 *
 * What the process keeps is what it held at its peak anyway, provided the
 * threads share few arenas: with one arena per thread (glibc's default, up
 * to 8 per core), each kept its own high-water mark, and the server's peak
 * grew from 214 to 299 MB; with two it stayed at 216 MB. Memory above
 * `trimThreshold` free at once is still given back. Returns whether the
 * allocator took the settings (false without the helper, or with another
 * C library than glibc).
 */
export function retainFreedMemory(): boolean {
  return addon?.retainFreedMemory(512 * MiB, 4 * MiB, 2) ?? false;
}

/**
 * Asks the kernel to back `view` with huge pages (of HUGE_PAGE_SIZE, the
 * whole ones inside it), before anything touches them. Meant for big buffers that live long
 * (those a BufferRecycler hands out): each 4 KiB page of a fresh buffer costs
 * a page fault on first touch, and on our test VM, which runs the kernel under
 * shadow page tables, a fault costs about 10 µs, so a 4 MiB buffer cost 10 ms
 * before it held a byte; the same buffer in huge pages costs two faults.
 * Returns whether the advice was taken (false without the helper, on kernels
 * without transparent huge pages, or for a view holding no whole huge page).
 * The kernel falls back to small pages when it has no huge page free.
 */
export function adviseHugePages(view: Uint8Array): boolean {
  return addon?.adviseHugePages(view) ?? false;
}
