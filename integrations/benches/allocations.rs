//! Heap allocations per request for each stack, counted by a global allocator wrapper.
//! Allocation counts are deterministic, so these figures are exact for this build.
//!
//! Run: `cargo bench -p routemeter-integrations --bench allocations`

mod support;

use routemeter_integrations::counting_alloc;

#[global_allocator]
static GLOBAL: counting_alloc::Counting = counting_alloc::Counting;

const REQUESTS: u64 = 10_000;

fn main() {
    let rt = support::runtime();
    let mut bare = 0.0;
    println!(
        "{:<34} {:>14} {:>14}",
        "stack", "allocs/request", "added to bare"
    );
    for name in support::STACKS {
        let app = support::app(name);
        let per_request = rt.block_on(async {
            for id in 0..1_000 {
                support::request(&app, id).await;
            }
            let before = counting_alloc::allocations();
            for id in 0..REQUESTS {
                support::request(&app, id).await;
            }
            (counting_alloc::allocations() - before) as f64 / REQUESTS as f64
        });
        if name == "bare" {
            bare = per_request;
        }
        println!(
            "{name:<34} {per_request:>14.2} {:>14.2}",
            per_request - bare
        );
    }
}
