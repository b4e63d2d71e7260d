//! Compiles `proto/` in Rust with protox (no `protoc` needed), generates the tonic/prost code, and writes the
//! encoded file descriptor set (imports included, so reflection can describe the well-known types).
use prost::Message;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let files = [
        "liaison/common/v1/changes.proto",
        "liaison/common/v1/change_feed.proto",
        "liaison/common/v1/audit.proto",
        "liaison/contacts/v1/contacts.proto",
        "liaison/scheduling/v1/scheduling.proto",
        "liaison/mediation/v1/mediation.proto",
        "liaison/reporting/v1/reporting.proto",
        "liaison/bench/v1/echo.proto",
    ];
    let mut compiler = protox::Compiler::new([&root])?;
    compiler.include_imports(true).include_source_info(true);
    compiler.open_files(files)?;
    let descriptor_set = compiler.file_descriptor_set();
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out_dir.join("liaison_descriptor.bin"), descriptor_set.encode_to_vec())?;

    // google.rpc error details (vendored from tonic-types), served by reflection only, so that grpcurl can
    // print the BadRequest / PreconditionFailure / ErrorInfo / RetryInfo details of our errors.
    let vendor = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vendor");
    let mut details = protox::Compiler::new([&vendor])?;
    details.include_imports(true);
    details.open_files(["google/rpc/error_details.proto"])?;
    std::fs::write(out_dir.join("error_details_descriptor.bin"), details.file_descriptor_set().encode_to_vec())?;
    println!("cargo:rerun-if-changed={}", vendor.display());
    // `prost::Name` for every message: a resource's type name (change feed `Any`s, update masks) comes from it.
    let mut config = tonic_prost_build::Config::new();
    config.enable_type_names();
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds_with_config(descriptor_set, config)?;
    println!("cargo:rerun-if-changed={}", root.display());
    Ok(())
}
