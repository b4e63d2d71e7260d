//! The descriptors of every message and service a Liaison server knows — the sets reflection serves (Liaison's
//! and the health service's) — decoded once and shared by everything that reads messages or methods by
//! reflection: update masks (field names by number), the audit's diffs, and the method index of the server.
use prost_reflect::DescriptorPool;
use std::sync::LazyLock;

static POOL: LazyLock<Option<DescriptorPool>> = LazyLock::new(|| {
    let mut pool = DescriptorPool::new();
    for set in [liaison_proto::FILE_DESCRIPTOR_SET, tonic_health::pb::FILE_DESCRIPTOR_SET] {
        if let Err(error) = pool.decode_file_descriptor_set(set) {
            tracing::error!(%error, "the embedded descriptor sets do not decode");
            return None;
        }
    }
    Some(pool)
});

/// The pool; `None` only if the embedded sets were corrupt (what reads it then degrades: no field names in
/// mask errors, no diffs in audit events, every path `unknown` to metrics).
pub fn pool() -> Option<&'static DescriptorPool> {
    POOL.as_ref()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_liaison_and_health_service_is_known() {
        let pool = super::pool().expect("the embedded sets decode");
        for service in
            ["liaison.contacts.v1.ContactsService", "liaison.common.v1.AuditService", "grpc.health.v1.Health"]
        {
            assert!(pool.get_service_by_name(service).is_some(), "{service}");
        }
        assert!(pool.get_message_by_name("liaison.contacts.v1.Contact").is_some());
    }
}
