// BLAKE3's own blake3_neon.c, on 64-bit ARM only (see addon.c).
#if !defined(CAIRN_NO_BLAKE3) && defined(__aarch64__)
#include <blake3_neon.c>
#endif
