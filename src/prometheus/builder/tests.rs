use super::*;

#[test]
fn native_schemas_outside_the_range_are_refused() {
    for schema in [i8::MIN, -5, 9, i8::MAX] {
        let err = PrometheusBuilder::new()
            .native_histogram_schema(schema)
            .unwrap_err();
        assert!(matches!(err, PrometheusError::InvalidNativeSchema(s) if s == schema));
        assert!(err.to_string().contains(&schema.to_string()), "{err}");
    }
    for schema in -4..=8 {
        assert!(
            PrometheusBuilder::new()
                .native_histogram_schema(schema)
                .is_ok()
        );
    }
    // A route's own schema is held to the same range, and its route to what `route_buckets`
    // takes.
    for schema in [i8::MIN, -5, 9, i8::MAX] {
        let err = PrometheusBuilder::new()
            .route_native_schema("/a", schema)
            .unwrap_err();
        assert!(matches!(err, PrometheusError::InvalidNativeSchema(s) if s == schema));
    }
    for route in ["", "a", "/a\n", &"/".repeat(1025)] {
        let err = PrometheusBuilder::new()
            .route_native_schema(route, 0)
            .unwrap_err();
        assert!(
            matches!(err, PrometheusError::InvalidRoute { .. }),
            "{route:?}: {err}"
        );
    }
    assert!(
        PrometheusBuilder::new()
            .route_native_schema("grpc.health.v1.Health/Check", -4)
            .is_ok()
    );
}

#[test]
fn bucket_validation() {
    assert!(
        PrometheusBuilder::new()
            .duration_buckets(&[0.1, 0.2])
            .is_ok()
    );
    assert!(
        PrometheusBuilder::new()
            .histogram_buckets("x", &[1.0, 0.5])
            .is_err()
    );
    for bad in [
        &[][..],
        &[0.2, 0.1],
        &[0.1, 0.1],
        &[0.1, f64::INFINITY],
        &[f64::NAN],
    ] {
        let err = PrometheusBuilder::new().duration_buckets(bad).unwrap_err();
        assert!(
            err.to_string().starts_with("invalid duration buckets"),
            "{err}"
        );
    }
}

#[test]
fn route_buckets_are_checked_when_set() {
    let b = PrometheusBuilder::new;
    for route in ["", "users", "/a\nb", "pkg.Svc", "a b/c"] {
        assert!(
            matches!(
                b().route_buckets(route, &[0.1]),
                Err(PrometheusError::InvalidRoute { .. })
            ),
            "{route:?}"
        );
    }
    let long = format!("/{}", "a".repeat(1024));
    assert!(b().route_buckets(long, &[0.1]).is_err());
    for bounds in [&[][..], &[0.2, 0.1], &[f64::NAN], &[0.1, f64::INFINITY]] {
        let err = b().route_buckets("/a", bounds).unwrap_err();
        assert!(
            matches!(
                err,
                PrometheusError::InvalidBuckets {
                    histogram: "route",
                    ..
                }
            ),
            "{err}"
        );
    }
    let ok = b()
        .route_buckets("/search/{query}", &[0.5, 1.0])
        .unwrap()
        .route_buckets("grpc.health.v1.Health/Check", &[0.001])
        .unwrap()
        .route_buckets("/search/{query}", &[2.0])
        .unwrap();
    assert_eq!(
        ok.route_buckets,
        [
            ("grpc.health.v1.Health/Check".to_owned(), vec![0.001]),
            ("/search/{query}".to_owned(), vec![2.0])
        ]
    );
    let err = b().route_buckets("\u{7}", &[1.0]).unwrap_err();
    assert!(err.to_string().contains("control character"), "{err}");
}
