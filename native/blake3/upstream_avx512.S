/* BLAKE3's own avx512 assembly for x86-64 Unix (see addon.c); the dispatcher picks the widest the CPU has. */
#if !defined(CAIRN_NO_BLAKE3) && defined(__x86_64__) && !defined(_WIN32)
#include <blake3_avx512_x86-64_unix.S>
#endif
