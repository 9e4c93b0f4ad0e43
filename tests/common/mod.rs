//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

use axum::body::Body;
use http::{Method, Request, Response};
use http_body_util::BodyExt;
use tower::{Service, ServiceExt};

/// Sends one request through `svc` and reads the whole response body.
pub async fn send<S, B, RB>(svc: &S, method: &str, path: &str, body: B) -> (u16, Vec<u8>)
where
    S: Service<Request<Body>, Response = Response<RB>> + Clone,
    S::Error: std::fmt::Debug,
    B: Into<Body>,
    RB: http_body::Body,
    RB::Error: std::fmt::Debug,
{
    let req = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).unwrap())
        .uri(path)
        .body(body.into())
        .unwrap();
    let resp = svc.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, bytes.to_vec())
}

/// An empty `GET`; returns the status.
pub async fn get<S, RB>(svc: &S, path: &str) -> u16
where
    S: Service<Request<Body>, Response = Response<RB>> + Clone,
    S::Error: std::fmt::Debug,
    RB: http_body::Body,
    RB::Error: std::fmt::Debug,
{
    send(svc, "GET", path, Body::empty()).await.0
}
