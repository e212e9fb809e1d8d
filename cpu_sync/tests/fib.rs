//! fib's values. A binary crate exports nothing to its tests, so this test compiles the crate's own
//! src/main.rs in as a module and calls its `fib` (its `main` goes unused here).

#[allow(dead_code)]
#[path = "../src/main.rs"]
mod cpu_sync;

#[test]
fn fib_gives_the_fibonacci_numbers_and_the_tutorials_fib_35() {
    shared::testing::check_fib(cpu_sync::fib);
}
