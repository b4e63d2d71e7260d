//! Operator smoke tests: the real `grpcurl` against the running all-in-one (reflection, describe, JSON calls,
//! errors), and the README's walkthrough run as written. grpcurl missing from PATH skips them, except under
//! `CI=true`, where it is a failure.
mod support;

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;
use support::{AllInOne, GRPC_SERVICES, workspace_root};

const GRPCURL_TIMEOUT: Duration = Duration::from_secs(30);
const WALKTHROUGH_TIMEOUT: Duration = Duration::from_secs(300);
const WALKTHROUGH_START: &str = "<!-- walkthrough:start -->";
const WALKTHROUGH_END: &str = "<!-- walkthrough:end -->";

/// `grpcurl` on PATH; `None` (skip) if missing, a panic if missing under `CI=true`.
fn grpcurl() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path).map(|dir| dir.join("grpcurl")).find(|candidate| candidate.is_file())
    });
    match found {
        Some(path) => Some(path),
        None if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true but grpcurl is not on PATH: the operator smoke tests cannot be skipped in CI")
        }
        None => {
            eprintln!("skipped: grpcurl is not on PATH");
            None
        }
    }
}

/// Runs grpcurl with `args`; the output whatever the exit status.
async fn run(grpcurl: &PathBuf, args: &[&str]) -> Output {
    let mut command = tokio::process::Command::new(grpcurl);
    command.args(args).stdin(std::process::Stdio::null()).kill_on_drop(true);
    tokio::time::timeout(GRPCURL_TIMEOUT, command.output())
        .await
        .unwrap_or_else(|_| panic!("grpcurl {args:?} did not finish within {GRPCURL_TIMEOUT:?}"))
        .unwrap_or_else(|e| panic!("cannot run grpcurl {args:?}: {e}"))
}

/// Runs grpcurl with `args`, which must succeed; its stdout.
async fn ok(grpcurl: &PathBuf, args: &[&str]) -> String {
    let output = run(grpcurl, args).await;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "grpcurl {args:?} failed ({}):\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The value of the first `"key": "value"` in grpcurl's JSON output.
fn json_string(json: &str, key: &str) -> String {
    let marker = format!("\"{key}\": \"");
    let start = json.find(&marker).unwrap_or_else(|| panic!("no {key:?} in grpcurl output:\n{json}")) + marker.len();
    let len = json[start..].find('"').unwrap_or_else(|| panic!("unterminated {key:?} in grpcurl output:\n{json}"));
    json[start..start + len].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpcurl_lists_describes_and_calls_the_running_all_in_one() {
    let Some(grpcurl) = grpcurl() else { return };
    let all_in_one = AllInOne::start().await;
    let ports = all_in_one.ports();

    for (port, own) in ports.into_iter().zip(GRPC_SERVICES) {
        let addr = format!("127.0.0.1:{port}");
        let listed = ok(&grpcurl, &["-plaintext", &addr, "list"]).await;
        let services: Vec<&str> = listed.lines().map(str::trim).collect();
        for expected in [own, "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"] {
            assert!(services.contains(&expected), "`grpcurl list` on {addr} lacks {expected}:\n{listed}");
        }
        for other in GRPC_SERVICES.into_iter().filter(|other| *other != own) {
            assert!(!services.contains(&other), "`grpcurl list` on {addr} shows {other}, not its own:\n{listed}");
        }
    }

    let contacts = format!("127.0.0.1:{}", ports[0]);
    let described =
        ok(&grpcurl, &["-plaintext", &contacts, "describe", "liaison.contacts.v1.UpdateContactRequest"]).await;
    assert!(described.contains("google.protobuf.FieldMask"), "describe UpdateContactRequest:\n{described}");
    let timestamp = ok(&grpcurl, &["-plaintext", &contacts, "describe", "google.protobuf.Timestamp"]).await;
    assert!(timestamp.contains("seconds"), "describe google.protobuf.Timestamp:\n{timestamp}");

    let created = ok(
        &grpcurl,
        &[
            "-plaintext",
            "-d",
            r#"{"contact": {"display_name": "Grace Hopper", "email": "grace@example.org"}}"#,
            &contacts,
            "liaison.contacts.v1.ContactsService/CreateContact",
        ],
    )
    .await;
    let name = json_string(&created, "name");
    assert!(name.starts_with("contacts/"), "CreateContact via grpcurl returned the name {name:?}:\n{created}");
    let fetched = ok(
        &grpcurl,
        &[
            "-plaintext",
            "-d",
            &format!(r#"{{"name": "{name}"}}"#),
            &contacts,
            "liaison.contacts.v1.ContactsService/GetContact",
        ],
    )
    .await;
    assert_eq!(json_string(&fetched, "name"), name, "GetContact via grpcurl:\n{fetched}");
    assert_eq!(json_string(&fetched, "displayName"), "Grace Hopper", "GetContact via grpcurl:\n{fetched}");

    let invalid = run(
        &grpcurl,
        &[
            "-plaintext",
            "-d",
            r#"{"contact": {"display_name": "   "}}"#,
            &contacts,
            "liaison.contacts.v1.ContactsService/CreateContact",
        ],
    )
    .await;
    let stderr = String::from_utf8_lossy(&invalid.stderr);
    assert!(!invalid.status.success(), "an invalid CreateContact must fail in grpcurl; stderr:\n{stderr}");
    assert!(stderr.contains("Code: InvalidArgument"), "an invalid CreateContact is InvalidArgument:\n{stderr}");
    assert!(stderr.contains("contact.display_name"), "the error names contact.display_name:\n{stderr}");
}

/// The fenced code between every pair of walkthrough markers of `readme` (all fenced blocks there, in order), as
/// one script: later sections use the names earlier ones created.
fn walkthrough(readme: &str, path: &std::path::Path) -> String {
    let lines: Vec<&str> = readme.lines().collect();
    let mut script = String::new();
    let mut sections = 0;
    let mut at = 0;
    while let Some(start) = lines[at..].iter().position(|line| line.trim() == WALKTHROUGH_START).map(|i| i + at) {
        let Some(end) = lines[start..].iter().position(|line| line.trim() == WALKTHROUGH_END).map(|i| i + start) else {
            panic!(
                "{}: a `{WALKTHROUGH_START}` (line {}) has no `{WALKTHROUGH_END}` after it",
                path.display(),
                start + 1
            )
        };
        let mut in_fence = false;
        let mut fences = 0;
        for line in &lines[start + 1..end] {
            if line.trim_start().starts_with("```") {
                in_fence = !in_fence;
                fences += 1;
            } else if in_fence {
                script.push_str(line);
                script.push('\n');
            }
        }
        assert!(
            fences > 0 && fences % 2 == 0,
            "{}: the walkthrough markers at line {} must enclose closed ``` fences",
            path.display(),
            start + 1
        );
        sections += 1;
        at = end + 1;
    }
    assert!(
        sections > 0,
        "{} must contain a walkthrough: ```bash blocks between the lines `{WALKTHROUGH_START}` and `{WALKTHROUGH_END}`",
        path.display()
    );
    assert!(!script.trim().is_empty(), "{}: the walkthrough blocks are empty", path.display());
    script
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_walkthrough_runs_against_the_all_in_one() {
    let Some(_grpcurl) = grpcurl() else { return };
    // LIAISON_E2E_README runs another file's walkthrough (to try a draft without touching README.md).
    let path = std::env::var_os("LIAISON_E2E_README").map_or_else(|| workspace_root().join("README.md"), PathBuf::from);
    let readme = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {} ({e}); it must hold the walkthrough between `{WALKTHROUGH_START}` and `{WALKTHROUGH_END}`",
            path.display()
        )
    });
    let mut script = walkthrough(&readme, &path);

    let all_in_one = AllInOne::start().await;
    for (default_port, port) in (50051u16..).zip(all_in_one.ports()) {
        let host_port = format!("localhost:{default_port}");
        assert!(script.contains(&host_port), "the walkthrough in {} never calls {host_port}", path.display());
        script = script.replace(&host_port, &format!("127.0.0.1:{port}"));
        script = script.replace(&format!("127.0.0.1:{default_port}"), &format!("127.0.0.1:{port}"));
    }

    let dir = tempfile::tempdir().expect("create a temporary directory");
    let file = dir.path().join("walkthrough.sh");
    std::fs::write(&file, &script).expect("write the walkthrough script");
    let mut command = tokio::process::Command::new("bash");
    command.arg("-euo").arg("pipefail").arg(&file).current_dir(dir.path());
    command.stdin(std::process::Stdio::null()).kill_on_drop(true);
    let output = tokio::time::timeout(WALKTHROUGH_TIMEOUT, command.output())
        .await
        .unwrap_or_else(|_| panic!("the walkthrough did not finish within {WALKTHROUGH_TIMEOUT:?}"))
        .expect("run bash");
    assert!(
        output.status.success(),
        "the README walkthrough failed ({}):\n--- script ---\n{script}--- stdout ---\n{}--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!("walkthrough ran:\n{}", String::from_utf8_lossy(&output.stdout));
}
