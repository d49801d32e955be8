import { loadNativeHelper, nativeHelperVerdict } from './native-helpers.js';
import { active, inactive, type Verdict } from './verdict.js';

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

/** Whether this build and kernel can ask for huge pages at all (adviseHugePages may still be refused, and says so). */
export const canAdviseHugePages = typeof addon?.adviseHugePages === 'function' && HUGE_PAGE_SIZE > 0;

let retained: Verdict | undefined;

/**
 * Keeps memory that glibc malloc frees in the process (up to 512 MiB free at
 * the top of a heap, two arenas) instead of handing it back to the kernel to
 * fault in again on reuse: a server's page faults during a 2 GiB backup fell
 * from 60–77 thousand to 19 thousand and the backup took 3.9 s instead of
 * 4.7, for 2 MB more at its peak. Applied once; returns whether the
 * allocator took the settings (false without the helper, or with another C
 * library than glibc).
 */
export function retainFreedMemory(): boolean {
  return retainFreedMemoryVerdict().active;
}

/** retainFreedMemory's outcome (applying it if nothing has yet), and if it failed, why. */
export function retainFreedMemoryVerdict(): Verdict {
  return (retained ??= retain());
}

function retain(): Verdict {
  if (!addon) return inactive(nativeHelperVerdict('malloc_tuning').reason);
  if (!addon.retainFreedMemory(512 * MiB, 4 * MiB, 2)) return inactive('mallopt refused the settings (the C library is not glibc)');
  return active('mallopt took M_TRIM_THRESHOLD, M_TOP_PAD and M_ARENA_MAX');
}

/**
 * Asks the kernel to back `view` with huge pages (of HUGE_PAGE_SIZE, the
 * whole ones inside it), before anything touches them, for big buffers that
 * live long (a BufferRecycler's): first touching a 4 MiB buffer costs two
 * page faults instead of 1024, 10 ms on our test VM. Returns whether the
 * advice was taken (false without the helper, on kernels without transparent
 * huge pages, or for a view holding no whole huge page); the kernel falls
 * back to small pages when it has no huge page free.
 */
export function adviseHugePages(view: Uint8Array): boolean {
  return addon?.adviseHugePages(view) ?? false;
}

let hugePages: Verdict | undefined;

/** Whether the kernel takes the advice, asked once for memory holding a whole huge page. */
export function hugePagesVerdict(): Verdict {
  return (hugePages ??= probeHugePages());
}

function probeHugePages(): Verdict {
  if (!addon) return inactive(nativeHelperVerdict('malloc_tuning').reason);
  if (!canAdviseHugePages) return inactive('the kernel makes no transparent huge pages');
  // Address space only: nothing touches it.
  if (!adviseHugePages(Buffer.allocUnsafeSlow(2 * HUGE_PAGE_SIZE))) return inactive('the kernel refused MADV_HUGEPAGE');
  return active(`the kernel took MADV_HUGEPAGE (pages of ${HUGE_PAGE_SIZE / MiB} MiB)`);
}
