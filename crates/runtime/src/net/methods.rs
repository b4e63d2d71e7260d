//! The methods a Liaison server serves, read once from the descriptors that reflection serves: which paths exist
//! (metrics label any other as `unknown`) and which stream (no unary time limit, not counted in flight, their
//! metrics recorded when they end).
use std::collections::HashMap;
use std::sync::OnceLock;

/// What a server knows of one method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Method {
    /// `package.Service`, as metrics label it.
    pub service: &'static str,
    /// The method's name.
    pub name: &'static str,
    /// Whether either side streams.
    pub streaming: bool,
}

/// The method at `/package.Service/Method`, if any server of Liaison serves it.
pub fn lookup(path: &str) -> Option<Method> {
    static METHODS: OnceLock<HashMap<String, Method>> = OnceLock::new();
    METHODS.get_or_init(index).get(path).copied()
}

fn index() -> HashMap<String, Method> {
    let mut methods = HashMap::new();
    let mut add = |service: String, name: String, streaming: bool| {
        let path = format!("/{service}/{name}");
        let method = Method { service: leak(service), name: leak(name), streaming };
        methods.insert(path, method);
    };
    for service in crate::api::descriptors::pool().into_iter().flat_map(|pool| pool.services()) {
        for method in service.methods() {
            let streaming = method.is_client_streaming() || method.is_server_streaming();
            add(service.full_name().to_owned(), method.name().to_owned(), streaming);
        }
    }
    for version in ["v1", "v1alpha"] {
        add(format!("grpc.reflection.{version}.ServerReflection"), "ServerReflectionInfo".to_owned(), true);
    }
    methods
}

/// Names built once at start, kept for the life of the process (a fixed set: the methods of the descriptors).
fn leak(name: String) -> &'static str {
    Box::leak(name.into_boxed_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_and_whether_they_stream_are_known_from_the_descriptors() {
        let streaming = |path| lookup(path).map(|m| m.streaming);
        assert_eq!(streaming("/liaison.common.v1.ChangeFeedService/WatchChanges"), Some(true));
        assert_eq!(streaming("/liaison.contacts.v1.ContactsService/ImportContacts"), Some(true));
        assert_eq!(streaming("/grpc.health.v1.Health/Watch"), Some(true));
        assert_eq!(streaming("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"), Some(true));
        assert_eq!(streaming("/liaison.contacts.v1.ContactsService/GetContact"), Some(false));
        assert_eq!(streaming("/grpc.health.v1.Health/Check"), Some(false));
        let get = lookup("/liaison.contacts.v1.ContactsService/GetContact").expect("known");
        assert_eq!((get.service, get.name), ("liaison.contacts.v1.ContactsService", "GetContact"));
        assert_eq!(lookup("/liaison.contacts.v1.ContactsService/NoSuchMethod"), None);
        assert_eq!(lookup("/x"), None);
    }
}
