/* BLAKE3's own sse41 assembly for x86-64 Unix (see addon.c); the dispatcher picks the widest the CPU has. */
#if !defined(CAIRN_NO_BLAKE3) && defined(__x86_64__) && !defined(_WIN32)
#include <blake3_sse41_x86-64_unix.S>
#endif
