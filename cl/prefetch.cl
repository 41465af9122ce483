/*
 * prefetch — a cache hint the register-tile kernels share (conv_direct_oc,
 * gemm), pulled in by their `#include "prefetch.cl"`: prefetch_line(p)
 * asks for the cache line holding p ahead of its use. Their weights come
 * from DRAM when a model's do not fit the last-level cache (ResNet-18's:
 * about 60 MB with the Winograd filters), and a work-item that walks its
 * panel without the hint waits on memory at every line.
 *
 * It is clang's __builtin_prefetch where the compiler has it (PoCL, and
 * other clang-based CPU compilers), and nothing elsewhere. OpenCL's own
 * prefetch() is no help: PoCL generates no code for it (checked in the
 * objects it writes).
 *
 * -D contract (defaults in brackets):
 *   PF   1: emit the hint (the host sets it on CPU-class devices) [0]
 */
#ifndef PF
#define PF 0
#endif

#if PF && defined(__has_builtin)
#if __has_builtin(__builtin_prefetch)
#define prefetch_line(p) __builtin_prefetch(p)
#endif
#endif
#ifndef prefetch_line
#define prefetch_line(p) ((void)0)
#endif
