//! The Liaison contracts: Rust code generated from `proto/` and the encoded file descriptor set that server
//! reflection serves. Nothing here is written by hand but this index.
#![allow(unreachable_pub, clippy::all, missing_docs)]

/// Encoded `FileDescriptorSet` of every Liaison proto and the files they import (well-known types included).
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/liaison_descriptor.bin"));

/// Encoded `FileDescriptorSet` of `google/rpc/error_details.proto`, for reflection to describe error details.
pub const ERROR_DETAILS_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/error_details_descriptor.bin"));

pub mod common {
    pub mod v1 {
        tonic::include_proto!("liaison.common.v1");
    }
}
pub mod contacts {
    pub mod v1 {
        tonic::include_proto!("liaison.contacts.v1");
    }
}
pub mod scheduling {
    pub mod v1 {
        tonic::include_proto!("liaison.scheduling.v1");
    }
}
pub mod mediation {
    pub mod v1 {
        tonic::include_proto!("liaison.mediation.v1");
    }
}
pub mod reporting {
    pub mod v1 {
        tonic::include_proto!("liaison.reporting.v1");
    }
}
/// The benchmark's echo ceiling (`liaison-bench`); no Liaison service serves it.
pub mod bench {
    pub mod v1 {
        tonic::include_proto!("liaison.bench.v1");
    }
}
