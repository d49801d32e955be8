// BLAKE3's own blake3_portable.c, from the directory native/blake3/locate.mjs found (see addon.c).
#ifndef CAIRN_NO_BLAKE3
#include <blake3_portable.c>
#endif
