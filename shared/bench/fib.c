/* cpu_sync's workload in C: the naive recursive fib(35), twenty times, to time rustc's code against
 * gcc's on the same machine. The README's "fib against C" has the commands and the figures:
 *
 *     gcc -O2 -o /tmp/fib_c shared/bench/fib.c && /usr/bin/time -f '%e s wall, %U s user' /tmp/fib_c
 *
 * The function is cpu_sync's: same types (u32 in, u64 out), same order of the calls. `noinline` is
 * what makes the comparison fair. LLVM never inlines a recursive function into itself; without
 * `noinline`, gcc -O2 inlines fib into itself a few levels deep and makes far fewer calls (1.5-2x
 * as fast), which measures a different program. With it, gcc emits the shape rustc does: the second
 * call becomes a loop around the first (fib(n) = fib(n-2) + fib(n-3) + ... + fib(0) + 1), and both
 * binaries make the same calls in the same order, one `call` instruction each.
 *
 * `volatile` plays the role of cpu_sync's black_box: the argument is read anew for every call, so
 * the twenty identical calls cannot be merged into one, and every result is stored. */
#include <stdint.h>
#include <stdio.h>

__attribute__((noinline)) uint64_t fib(uint32_t n) {
    return n < 2 ? n : fib(n - 2) + fib(n - 1);
}

int main(void) {
    volatile uint32_t n = 35;
    volatile uint64_t result = 0;
    for (int i = 0; i < 20; i++) {
        result = fib(n);
    }
    printf("%llu\n", (unsigned long long)result);
    return 0;
}
