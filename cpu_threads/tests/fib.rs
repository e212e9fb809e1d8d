//! fib's values. A binary crate exports nothing to its tests, so this test compiles the crate's own
//! src/main.rs in as a module and calls its `fib` (its `main` goes unused here).

#[allow(dead_code)]
#[path = "../src/main.rs"]
mod cpu_threads;

#[test]
fn fib_gives_the_fibonacci_numbers() {
    let first: Vec<u64> = (0..=10).map(cpu_threads::fib).collect();
    assert_eq!(first, [0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55]);
}

#[test]
fn fib_35_is_the_tutorials_number() {
    assert_eq!(cpu_threads::fib(35), 9_227_465);
}
