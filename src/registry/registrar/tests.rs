//! The slot arithmetic: a slot made from a method, a scheme and each request label's value
//! index decodes to exactly those, whatever the budgets.

use std::sync::Arc;

use proptest::prelude::*;

use super::{Registrar, Source};
use crate::registry::request_label::{RequestLabel, ValueFn};
use crate::route::RouteRequest;

/// A registrar with the default methods and request labels of `budgets`.
fn registrar(budgets: &[usize]) -> Registrar {
    let mut r = Registrar::for_tests(Source::Explicit(Arc::new(metrics::NoopRecorder)));
    r.request_labels = budgets
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let none: ValueFn = Arc::new(|_: &RouteRequest<'_>| None);
            RequestLabel::new(&format!("l{i}"), *b, none)
        })
        .collect();
    r
}

proptest! {
    #[test]
    fn slots_decode_to_what_made_them(
        budgets in prop::collection::vec(1usize..=6, 0..=3),
        https in any::<bool>(),
        method in 0usize..64,
        picks in prop::collection::vec(0usize..8, 3),
    ) {
        let r = registrar(&budgets);
        let n = r.methods.slots();
        let method = method % n;
        let indices: Vec<usize> = budgets.iter().zip(&picks).map(|(b, p)| p % (b + 2)).collect();
        let mut slot = usize::from(https) * n + method;
        let mut radix = r.base_slots();
        for (b, i) in budgets.iter().zip(&indices) {
            slot += radix * i;
            radix *= b + 2;
        }
        prop_assert!(slot < r.slots());
        prop_assert_eq!(r.slots(), radix);
        let (m, scheme) = r.slot_labels(slot);
        prop_assert_eq!(m, r.methods.label(method));
        prop_assert_eq!(scheme, if https { "https" } else { "http" });
        let decoded: Vec<usize> = r.label_indices(slot).map(|(_, i)| i).collect();
        prop_assert_eq!(&decoded, &indices);
        let mask = indices
            .iter()
            .zip(&budgets)
            .enumerate()
            .filter(|(_, (i, b))| i == b)
            .fold(0u64, |mask, (bit, _)| mask | 1 << bit);
        prop_assert_eq!(r.overflow_mask(slot), mask);
    }
}

/// What the series budget folds is `_OTHER` for the method and every request label, at the
/// default scheme, and counts as no label's overflow.
#[test]
fn the_fold_slot_keeps_no_value() {
    for budgets in [&[][..], &[3], &[1, 10], &[2, 2, 2]] {
        let r = registrar(budgets);
        let fold = r.fold_slot();
        assert!(fold < r.slots());
        assert_eq!(r.slot_labels(fold), (crate::classify::OTHER_METHOD, "http"));
        for (label, i) in r.label_indices(fold) {
            assert_eq!(label.value(i), crate::classify::OTHER_METHOD);
        }
        assert_eq!(r.overflow_mask(fold), 0);
    }
}
