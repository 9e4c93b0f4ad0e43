//! Sends N in-process requests through one stack, for instruction counting under callgrind:
//! `scripts/bench-instructions.sh` runs it with only [`measured_loop`] collected
//! (`--collect-atstart=no --toggle-collect=*measured_loop*`), twice per stack (N1 and N2
//! requests), and reports the difference per request, so set-up, warm-up and the loop's own
//! entry cancel out. Allocations are counted over the same loop and printed as
//! `allocations: A` (the script takes the same difference).
//!
//! Usage: `instructions STACK_INDEX N` (stack indices as in `support::STACKS`); without
//! arguments it lists the stacks.

mod support;

use routemeter_integrations::counting_alloc;

#[global_allocator]
static GLOBAL: counting_alloc::Counting = counting_alloc::Counting;

/// The only code callgrind collects: `n` requests, the same path every time so formatting
/// the URI costs the same in every stack. Returns the allocations made meanwhile.
#[inline(never)]
fn measured_loop(rt: &tokio::runtime::Runtime, app: &axum::Router, n: u64) -> u64 {
    let before = counting_alloc::allocations();
    rt.block_on(async {
        for _ in 0..n {
            support::request(app, 42).await;
        }
    });
    counting_alloc::allocations() - before
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let Some(stack) = args.next().and_then(|s| s.parse::<usize>().ok()) else {
        // `cargo bench` runs every bench target without arguments: list the stacks instead.
        for (i, s) in support::STACKS.iter().enumerate() {
            println!("{i}: {s}");
        }
        return;
    };
    let n: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let app = support::app(support::STACKS[stack]);
    let rt = support::runtime();
    // Warm-up, not collected: the first requests register series and fill caches.
    rt.block_on(async {
        for id in 0..1_000 {
            support::request(&app, id).await;
        }
    });
    let allocations = measured_loop(&rt, &app, n);
    println!("allocations: {allocations}");
}
