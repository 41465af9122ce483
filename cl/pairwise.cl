/*
 * pairwise — summation in pairwise order, shared by the kernels that sum
 * long runs of terms (pool's global pools, reduce, softmax), pulled in by
 * their `#include "pairwise.cl"`. Terms are summed in order in blocks of
 * PAIR_BLOCK; each block sum is pushed onto a stack that combines like a
 * binary counter (a new block sum absorbs the stack top while the block
 * count has trailing ones), so rounding grows with PAIR_BLOCK +
 * log2(count) rather than with count. 32 levels cover any uint count.
 *
 * A caller sums its terms as
 *   pairwise p = pairwise_start();
 *   for (uint k = 0; k < count; k += PAIR_BLOCK) {
 *       float s = 0.0f;
 *       for (uint j = k; j < min(count, k + PAIR_BLOCK); j++)
 *           s += TERM(j);
 *       pairwise_push(&p, s);
 *   }
 *   ... pairwise_total(&p)
 *
 * -D contract (defaults in brackets):
 *   PAIR_BLOCK  terms summed in order before pairwise combination [8]
 */
#ifndef PAIR_BLOCK
#define PAIR_BLOCK 8
#endif

typedef struct pairwise {
    float stack[32];
    uint top, blocks;
} pairwise;

inline pairwise pairwise_start(void)
{
    pairwise p;
    p.top = 0;
    p.blocks = 0;
    return p;
}

inline void pairwise_push(pairwise *p, float s)
{
    for (uint b = p->blocks; b & 1u; b >>= 1)
        s += p->stack[--p->top];
    p->stack[p->top++] = s;
    p->blocks++;
}

inline float pairwise_total(pairwise *p)
{
    float total = 0.0f;
    while (p->top > 0)
        total += p->stack[--p->top];
    return total;
}
