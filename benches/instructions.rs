//! Sends N in-process requests through one stack, for instruction counting under callgrind:
//! `scripts/bench-instructions.sh` runs it twice per stack (N and 2N) and reports the difference
//! per request, so set-up costs cancel out.
//!
//! Usage: `instructions STACK_INDEX N` (stack indices as in `support::STACKS`).

mod support;

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
    rt.block_on(async {
        // Warm-up: the first requests register series and fill caches.
        for id in 0..100 {
            support::request(&app, id).await;
        }
        // The same path every time, so formatting the URI costs the same in every stack.
        for _ in 0..n {
            support::request(&app, 42).await;
        }
    });
}
