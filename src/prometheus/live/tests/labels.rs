//! Rows kept apart by labels: the live labels, values that read alike, the dotted naming.

use super::*;

#[test]
fn kept_labels_split_the_rows() {
    let naming = Naming::default();
    let r = recorder();
    let live = Live::new(Arc::clone(&r.store), naming.clone(), Limits::PAGE)
        .with_labels(Arc::from([Box::from("tenant")]));
    for (tenant, n) in [(Some("acme"), 3), (Some("a\"b\n"), 1), (None, 2)] {
        let mut key = key(&naming, "/a", "GET", "200", None);
        if let Some(tenant) = tenant {
            let mut labels: Vec<Label> = key.labels().cloned().collect();
            labels.push(Label::new("tenant", tenant.to_owned()));
            key = Key::from_parts(key.name().to_owned(), labels);
        }
        r.register_histogram(&key, &META).record_many(0.2, n);
    }
    live.sample(Instant::now());
    let v = json(&live, None);
    let rows: Vec<(String, u64)> = v["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (labels_text(r), r["total"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        rows,
        [
            (String::new(), 2),
            ("tenant=a\"b\n".to_owned(), 1),
            ("tenant=acme".to_owned(), 3),
        ]
    );
}

/// A row's `labels` as `name=value` pairs joined by `, `.
fn labels_text(row: &serde_json::Value) -> String {
    row["labels"].as_array().map_or_else(String::new, |pairs| {
        pairs
            .iter()
            .map(|p| format!("{}={}", p[0].as_str().unwrap(), p[1].as_str().unwrap()))
            .collect::<Vec<_>>()
            .join(", ")
    })
}

/// Two kept labels whose values would read alike as text (`tenant="x, plan=y"` with
/// `plan="z"`, and `tenant="x"` with `plan="y, plan=z"`) stay two rows.
#[test]
fn values_that_read_alike_stay_apart() {
    let naming = Naming::default();
    let r = recorder();
    let live = Live::new(Arc::clone(&r.store), naming.clone(), Limits::PAGE)
        .with_labels(Arc::from([Box::from("tenant"), Box::from("plan")]));
    for (tenant, plan) in [("x, plan=y", "z"), ("x", "y, plan=z")] {
        let mut labels: Vec<Label> = key(&naming, "/a", "GET", "200", None)
            .labels()
            .cloned()
            .collect();
        labels.push(Label::new("tenant", tenant.to_owned()));
        labels.push(Label::new("plan", plan.to_owned()));
        r.register_histogram(
            &Key::from_parts(naming.duration().to_owned(), labels),
            &META,
        )
        .record(0.2);
    }
    live.sample(Instant::now());
    let v = json(&live, None);
    let rows = v["routes"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{v}");
    assert!(rows.iter().all(|r| r["total"] == 1), "{v}");
    assert_eq!(
        rows[0]["labels"],
        serde_json::json!([["tenant", "x"], ["plan", "y, plan=z"]])
    );
}

/// The dotted naming's label keys (`http.route`) are read as the exposition writes them.
#[test]
fn the_dotted_naming_shows_its_routes() {
    let naming = Naming::new(crate::NamingScheme::OpenTelemetryDotted);
    let r = recorder();
    let live = Live::new(Arc::clone(&r.store), naming.clone(), Limits::PAGE);
    r.register_histogram(&key(&naming, "/a", "GET", "200", None), &META)
        .record_many(0.2, 3);
    live.sample(Instant::now());
    let v = json(&live, None);
    assert_eq!(v["routes"][0]["route"], "/a", "{v}");
    assert_eq!(v["routes"][0]["total"], 3, "{v}");
}
