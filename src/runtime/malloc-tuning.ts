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

/** What each kind of process keeps free at the top of a heap before glibc hands it back (M_TRIM_THRESHOLD, M_TOP_PAD). */
const KEPT_AT_TOP = {
  // The backup and restore commands move gigabytes through buffers that would otherwise be given back and faulted in again.
  command: { trim: 512 * MiB, pad: 4 * MiB },
  // A server reads bodies into reused buffers now; what its S3 client frees, kept, raised its peaks 12–14 MB (docs/performance.md, "Memory").
  server: { trim: 1 * MiB, pad: 0 },
} as const;
type ProcessKind = keyof typeof KEPT_AT_TOP;

let retained: Verdict | undefined;

/**
 * Sets how much memory glibc malloc keeps once freed (KEPT_AT_TOP), in two
 * arenas: with one per thread (glibc's default) each kept its own high-water
 * mark and the server's peak grew from 214 to 299 MB. The threshold is fixed,
 * where glibc would raise it with the largest block it unmaps. Called at
 * every command's start, and again by `cairn serve`; returns whether the
 * allocator took the settings (false without the helper, or with another C
 * library than glibc).
 */
export function retainFreedMemory(kind: ProcessKind = 'command'): boolean {
  return (retained = retain(kind)).active;
}

/** What retainFreedMemory last set (applying the command's settings if nothing has yet), and if it failed, why. */
export function retainFreedMemoryVerdict(): Verdict {
  return (retained ??= retain('command'));
}

function retain(kind: ProcessKind): Verdict {
  if (!addon) return inactive(nativeHelperVerdict('malloc_tuning').reason);
  const { trim, pad } = KEPT_AT_TOP[kind];
  if (!addon.retainFreedMemory(trim, pad, 2)) return inactive('mallopt refused the settings (the C library is not glibc)');
  return active(`mallopt took M_TRIM_THRESHOLD ${trim / MiB} MiB, M_TOP_PAD ${pad / MiB} MiB and M_ARENA_MAX 2 (a ${kind}'s)`);
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
