//! Operator smoke tests: the real `grpcurl` against the running all-in-one (reflection, describe, JSON calls,
//! errors), and the documented walk-throughs run as written: the README's (twice, on the same data) and every
//! `docs/*.md` page's. grpcurl missing from PATH skips them, except under `CI=true`, where it is a failure.
#![allow(clippy::expect_used, reason = "end-to-end test: a step that fails panics with its cause")]
use liaison_testkit::e2e::{AllInOne, GRPC_SERVICES, workspace_root};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

const GRPCURL_TIMEOUT: Duration = Duration::from_secs(30);
const WALKTHROUGH_TIMEOUT: Duration = Duration::from_secs(300);
/// Served on every port beside the port's own service.
const CHANGE_FEED: &str = "liaison.common.v1.ChangeFeedService";
/// Served on every port beside the port's own service (admin only; the all-in-one is in development mode).
const AUDIT: &str = "liaison.common.v1.AuditService";
/// The ports the documents call (`localhost:50051` … or `127.0.0.1:50051` …), in the order of the all-in-one's.
const DOCUMENTED_PORTS: [u16; 4] = [50051, 50052, 50053, 50054];
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
        for expected in [own, CHANGE_FEED, AUDIT, "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"] {
            assert!(services.contains(&expected), "`grpcurl list` on {addr} lacks {expected}:\n{listed}");
        }
        for other in GRPC_SERVICES.into_iter().filter(|other| *other != own) {
            assert!(!services.contains(&other), "`grpcurl list` on {addr} shows {other}, not its own:\n{listed}");
        }
        // Every port answers its own feed through the one service (an empty feed prints `{}`).
        let list_changes = format!("{CHANGE_FEED}/ListChanges");
        ok(&grpcurl, &["-plaintext", "-d", r#"{"page_size": 1}"#, &addr, &list_changes]).await;
        let list_audit_events = format!("{AUDIT}/ListAuditEvents");
        ok(&grpcurl, &["-plaintext", "-d", r#"{"page_size": 1}"#, &addr, &list_audit_events]).await;
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
    // The audit trail names the RPC that created the contact and the fields it set.
    let audited = ok(
        &grpcurl,
        &[
            "-plaintext",
            "-d",
            &format!(r#"{{"resource_name": "{name}"}}"#),
            &contacts,
            &format!("{AUDIT}/ListAuditEvents"),
        ],
    )
    .await;
    assert_eq!(json_string(&audited, "rpc"), "liaison.contacts.v1.ContactsService/CreateContact", "{audited}");
    assert!(audited.contains(r#""field": "display_name""#), "ListAuditEvents via grpcurl:\n{audited}");

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

    // JSON's own edge cases: grpcurl reads an unpaired surrogate as U+FFFD, which the server refuses by name,
    // as it does a bidirectional override and a NUL written as an escape.
    let bad_json = [
        (r#"{"name": "contacts/\ud800"}"#, "GetContact", "name"),
        (r#"{"contact": {"display_name": "Ada \udc00"}}"#, "CreateContact", "contact.display_name"),
        (r#"{"contact": {"display_name": "\u202eAda"}}"#, "CreateContact", "contact.display_name"),
        (r#"{"contact": {"display_name": "Ada", "notes": "a\u0000b"}}"#, "CreateContact", "contact.notes"),
    ];
    for (json, rpc, field) in bad_json {
        let method = format!("liaison.contacts.v1.ContactsService/{rpc}");
        let refused = run(&grpcurl, &["-plaintext", "-d", json, &contacts, &method]).await;
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(
            !refused.status.success() && stderr.contains("Code: InvalidArgument") && stderr.contains(field),
            "{rpc} {json} must be refused naming {field}:\n{stderr}"
        );
    }
}

/// The fenced code between every pair of walkthrough markers of `text` (all fenced blocks there, in order), as
/// one script: later sections use the names earlier ones created. `None` if `text` has no walkthrough markers.
fn walkthrough(text: &str, path: &Path) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
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
        !lines[at..].iter().any(|line| line.trim() == WALKTHROUGH_END),
        "{}: a `{WALKTHROUGH_END}` has no `{WALKTHROUGH_START}` before it",
        path.display()
    );
    if sections == 0 {
        return None;
    }
    assert!(!script.trim().is_empty(), "{}: the walkthrough blocks are empty", path.display());
    Some(script)
}

/// `script` with every documented `localhost:5005x` / `127.0.0.1:5005x` pointed at the running all-in-one's
/// `ports`, in one pass (a real port that happens to be 5005x is never replaced again).
fn on_ports(script: &str, ports: [u16; 4]) -> String {
    const MARK: char = '\u{1}';
    let mut marked = script.to_owned();
    for (index, documented) in DOCUMENTED_PORTS.into_iter().enumerate() {
        for host in ["localhost", "127.0.0.1"] {
            marked = marked.replace(&format!("{host}:{documented}"), &format!("{MARK}{index}{MARK}"));
        }
    }
    for (index, port) in ports.into_iter().enumerate() {
        marked = marked.replace(&format!("{MARK}{index}{MARK}"), &format!("127.0.0.1:{port}"));
    }
    marked
}

/// Runs `script` (the walkthrough of `path`) with bash, as the documents say it is run: one `bash -euo pipefail`
/// per document, so a variable set in one block is seen by the next, in a fresh working directory.
async fn run_walkthrough(path: &Path, script: &str, label: &str, data_dir: &Path) {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let file = dir.path().join("walkthrough.sh");
    std::fs::write(&file, script).expect("write the walkthrough script");
    let mut command = tokio::process::Command::new("bash");
    command.arg("-euo").arg("pipefail").arg(&file).current_dir(dir.path());
    // `liaison token` as the reader runs it: this build's binary, minting from the all-in-one's development key.
    command.env("LIAISON", liaison_testkit::e2e::binary()).env("LIAISON_DATA_DIR", data_dir);
    command.stdin(std::process::Stdio::null()).kill_on_drop(true);
    let started = std::time::Instant::now();
    let output = tokio::time::timeout(WALKTHROUGH_TIMEOUT, command.output())
        .await
        .unwrap_or_else(|_| {
            panic!("the walkthrough of {} ({label}) did not finish within {WALKTHROUGH_TIMEOUT:?}", path.display())
        })
        .expect("run bash");
    assert!(
        output.status.success(),
        "the walkthrough of {} ({label}) failed ({}):\n--- script ---\n{script}--- stdout ---\n{}--- stderr ---\n{}",
        path.display(),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!(
        "the walkthrough of {} ({label}) ran in {:?}:\n{}",
        path.display(),
        started.elapsed(),
        String::from_utf8_lossy(&output.stdout)
    );
}

/// Reads a document that may hold a walkthrough.
fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The `docs/*.md` pages that hold a walkthrough, in file-name order, with their scripts.
fn docs_walkthroughs(docs: &Path) -> Vec<(PathBuf, String)> {
    let entries = std::fs::read_dir(docs).unwrap_or_else(|e| panic!("cannot list {}: {e}", docs.display()));
    let mut pages: Vec<PathBuf> = entries
        .map(|entry| entry.unwrap_or_else(|e| panic!("cannot list {}: {e}", docs.display())).path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    pages.sort();
    pages.into_iter().filter_map(|page| walkthrough(&read(&page), &page).map(|script| (page, script))).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_and_docs_walkthroughs_run_against_the_all_in_one() {
    let Some(_grpcurl) = grpcurl() else { return };
    let root = workspace_root();
    // LIAISON_E2E_README runs another file's walkthrough (to try a draft without touching README.md).
    let readme = std::env::var_os("LIAISON_E2E_README").map_or_else(|| root.join("README.md"), PathBuf::from);
    let readme_script = walkthrough(&read(&readme), &readme).unwrap_or_else(|| {
        panic!(
            "{} must contain a walkthrough: ```bash blocks between the lines `{WALKTHROUGH_START}` and \
             `{WALKTHROUGH_END}`",
            readme.display()
        )
    });
    for documented in DOCUMENTED_PORTS {
        assert!(
            readme_script.contains(&format!("localhost:{documented}")),
            "the walkthrough in {} never calls localhost:{documented}",
            readme.display()
        );
    }
    let pages = docs_walkthroughs(&root.join("docs"));
    assert!(
        pages.iter().any(|(page, _)| page.ends_with("docs/contacts.md")),
        "docs/contacts.md must hold a walkthrough (every RPC of contacts, run by this test)"
    );

    let all_in_one = AllInOne::start().await;
    let ports = all_in_one.ports();
    // Twice on the same data: a reader may run it again, and nothing in it may depend on a fresh database.
    for run in ["first run", "second run on the same data"] {
        run_walkthrough(&readme, &on_ports(&readme_script, ports), run, &all_in_one.data_dir).await;
    }
    for (page, script) in &pages {
        run_walkthrough(page, &on_ports(script, ports), "after the README's", &all_in_one.data_dir).await;
    }
}

#[test]
fn documented_ports_are_replaced_once_even_when_a_real_port_is_a_documented_one() {
    let script = "a localhost:50051 b 127.0.0.1:50052 c localhost:50054/x 50051";
    assert_eq!(
        on_ports(script, [50052, 50053, 50054, 50055]),
        "a 127.0.0.1:50052 b 127.0.0.1:50053 c 127.0.0.1:50055/x 50051"
    );
}

#[test]
fn a_walkthrough_is_every_fenced_block_between_markers_and_none_without_them() {
    let path = Path::new("page.md");
    let text = "intro\n```sh\nnot run\n```\n<!-- walkthrough:start -->\n```bash\nA=1\n```\nprose\n```bash\necho $A\n```\n\
                <!-- walkthrough:end -->\nmore\n<!-- walkthrough:start -->\n```bash\necho 2\n```\n<!-- walkthrough:end -->\n";
    assert_eq!(walkthrough(text, path).as_deref(), Some("A=1\necho $A\necho 2\n"));
    assert_eq!(walkthrough("no markers\n```bash\necho 1\n```\n", path), None);
}
