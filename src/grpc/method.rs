//! gRPC method names: which request paths name a well-formed `package.Service/Method`, the
//! methods a layer declares, and the `rpc.method` value of a call.

use std::collections::HashSet;

/// The `rpc.method` value of calls to methods the layer does not recognise, as the
/// OpenTelemetry RPC conventions prescribe (the gRPC counterpart of
/// [`UNMATCHED_ROUTE`](crate::UNMATCHED_ROUTE)).
pub const OTHER_RPC_METHOD: &str = "_OTHER";

/// The longest method name (`package.Service/Method`) the layer records; longer ones are
/// [`OTHER_RPC_METHOD`].
pub const MAX_RPC_METHOD_LEN: usize = 256;

/// The method a request path names, `package.Service/Method` for `/package.Service/Method`, when
/// it is well formed: a service of letters, digits, `_` and `.`, a method of letters, digits and
/// `_`, at most [`MAX_RPC_METHOD_LEN`] bytes in all.
pub(crate) fn method_of_path(path: &str) -> Option<&str> {
    let name = path.strip_prefix('/')?;
    check_method(name).ok()?;
    Some(name)
}

fn check_service(service: &str) -> Result<(), &'static str> {
    if service.is_empty() {
        return Err("the service name is empty");
    }
    if service.starts_with('.') || service.ends_with('.') || service.contains("..") {
        return Err("the service name has an empty part between dots");
    }
    if !service
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
    {
        return Err("the service name holds a character other than letters, digits, `_` and `.`");
    }
    Ok(())
}

fn check_method_name(method: &str) -> Result<(), &'static str> {
    if method.is_empty() {
        return Err("the method name is empty");
    }
    if !method
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err("the method name holds a character other than letters, digits and `_`");
    }
    Ok(())
}

/// Whether `name` is a well-formed gRPC method (`package.Service/Method`).
#[cfg(feature = "prometheus")]
pub(crate) fn is_method_name(name: &str) -> bool {
    check_method(name).is_ok()
}

fn check_method(name: &str) -> Result<(), &'static str> {
    if name.len() > MAX_RPC_METHOD_LEN {
        return Err("the method is longer than MAX_RPC_METHOD_LEN bytes");
    }
    let (service, method) = name
        .split_once('/')
        .ok_or("a method is `package.Service/Method`")?;
    check_service(service)?;
    check_method_name(method)
}

/// The gRPC settings of a layer: on or off, and the methods it recognises.
#[derive(Clone, Debug, Default)]
pub(crate) struct GrpcMethods {
    /// `package.Service/Method` of every declared method; empty means every well-formed
    /// method is recognised.
    declared: HashSet<Box<str>, foldhash::fast::RandomState>,
}

impl GrpcMethods {
    /// Declares the `methods` of `service`.
    pub(crate) fn declare<'a>(
        &mut self,
        service: &str,
        methods: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), (String, &'static str)> {
        let error = |name: &str, reason| (name.to_owned(), reason);
        check_service(service).map_err(|r| error(service, r))?;
        let mut any = false;
        for method in methods {
            any = true;
            let full = format!("{service}/{method}");
            check_method_name(method).map_err(|r| error(method, r))?;
            check_method(&full).map_err(|r| error(&full, r))?;
            self.declared.insert(full.into());
        }
        if any {
            Ok(())
        } else {
            Err(error(service, "no method was given for the service"))
        }
    }

    /// The `rpc.method` value of a request path: the method when recognised, else `None`
    /// (recorded as [`OTHER_RPC_METHOD`]).
    pub(crate) fn recognise<'a>(&self, path: &'a str) -> Option<&'a str> {
        let name = method_of_path(path)?;
        (self.declared.is_empty() || self.declared.contains(name)).then_some(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods() {
        assert_eq!(
            method_of_path("/grpc.health.v1.Health/Check"),
            Some("grpc.health.v1.Health/Check")
        );
        for bad in [
            "/", "//", "/a/", "/a/b/c", "/a.b", "a/b", "/.a/b", "/a../b", "/a b/c", "/a/{id}",
        ] {
            assert_eq!(method_of_path(bad), None, "{bad}");
        }
        let mut m = GrpcMethods::default();
        assert_eq!(m.recognise("/x.Y/Z"), Some("x.Y/Z"));
        m.declare("grpc.health.v1.Health", ["Check", "Watch"])
            .unwrap();
        assert_eq!(
            m.recognise("/grpc.health.v1.Health/Check"),
            Some("grpc.health.v1.Health/Check")
        );
        assert_eq!(m.recognise("/grpc.health.v1.Health/List"), None);
        assert_eq!(m.recognise("/x.Y/Z"), None);
        assert!(m.declare("a b", ["C"]).is_err());
        assert!(m.declare("a", ["C/D"]).is_err());
        assert!(m.declare("a", []).is_err());
        let (name, reason) = m.declare("a", [""]).unwrap_err();
        assert_eq!(name, "");
        assert!(reason.contains("name"), "{reason}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// Any path: a method label only when it is the path without its `/`, well formed and
        /// bounded.
        #[test]
        fn any_path_is_a_method_or_none(path in "/?[a-zA-Z0-9_./ {}*-]{0,20}(/[a-zA-Z0-9_. -]{0,10}){0,2}|\\PC{0,300}") {
            if let Some(m) = method_of_path(&path) {
                proptest::prop_assert_eq!(format!("/{m}"), path.clone());
                proptest::prop_assert!(m.len() <= MAX_RPC_METHOD_LEN);
                proptest::prop_assert_eq!(m.matches('/').count(), 1);
                proptest::prop_assert!(m.bytes().all(|b| b.is_ascii_alphanumeric() || b"_./".contains(&b)));
            }
        }
    }
}
