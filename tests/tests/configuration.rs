//! Bad configuration stops the binary with one clear line on stderr and a non-zero exit, never a panic; the
//! health check fails when nothing answers.
use liaison_testkit::e2e::{Finished, assert_no_panic, free_port, liaison, run_to_end};
use std::net::TcpListener;
use std::process::Command;
use std::time::Duration;

const BAD_CONFIG_TIMEOUT: Duration = Duration::from_secs(15);

/// Runs `command` and checks the shape of a configuration failure: non-zero exit within
/// [`BAD_CONFIG_TIMEOUT`], exactly one line starting `liaison: `, which is the last non-empty line and contains
/// every one of `names`; any other line is an INFO log line; no panic, no backtrace.
async fn assert_one_clear_line(case: &str, command: Command, names: &[&str]) -> Finished {
    let done = run_to_end(case, command, BAD_CONFIG_TIMEOUT).await;
    let stderr = &done.stderr;
    assert!(!done.status.success(), "{case}: expected a non-zero exit, got {}; stderr:\n{stderr}", done.status);
    assert_no_panic(case, stderr);
    let lines: Vec<&str> = stderr.lines().filter(|line| !line.trim().is_empty()).collect();
    let last = lines.last().unwrap_or_else(|| panic!("{case}: nothing on stderr"));
    assert!(last.starts_with("liaison: "), "{case}: the last line of stderr must start `liaison: `:\n{stderr}");
    for name in names {
        assert!(last.contains(name), "{case}: the error line must name {name:?}: {last}");
    }
    let error_lines = lines.iter().filter(|line| line.starts_with("liaison: ")).count();
    assert_eq!(error_lines, 1, "{case}: exactly one `liaison: ` line expected:\n{stderr}");
    for line in &lines[..lines.len() - 1] {
        assert!(line.contains(" INFO "), "{case}: only INFO log lines may precede the error, found {line:?}");
    }
    eprintln!("{case}: exit {} after {:?}: {last}", done.status, done.elapsed);
    done
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_configuration_stops_with_one_clear_line() {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let sqlite = format!("sqlite://{}", dir.path().join("contacts.db").display());

    let mut command = liaison();
    command.args(["serve", "billing"]);
    assert_one_clear_line("unknown service", command, &["billing"]).await;

    let mut command = liaison();
    command.args(["serve", "contacts"]).env("LIAISON_LISTEN_ADDR", format!("127.0.0.1:{}", free_port()));
    command.env("DATABASE_URL", "mysql://x");
    assert_one_clear_line("malformed DATABASE_URL", command, &["mysql://x"]).await;

    let taken = TcpListener::bind("127.0.0.1:0").expect("bind a port to make it busy");
    let addr = taken.local_addr().expect("local address of a bound listener").to_string();
    let mut command = liaison();
    command.args(["serve", "contacts", "--listen", &addr, "--database-url", &sqlite]);
    assert_one_clear_line("port already in use", command, &[&addr, "in use"]).await;
    drop(taken);

    let mut command = liaison();
    command.args(["serve", "contacts", "--listen", &format!("127.0.0.1:{}", free_port())]);
    command.args(["--database-url", "postgres://postgres@127.0.0.1:1/nope"]);
    assert_one_clear_line("unreachable database", command, &["127.0.0.1:1"]).await;

    let mut command = liaison();
    command.args(["serve", "scheduling", "--listen", &format!("127.0.0.1:{}", free_port())]);
    command.args(["--database-url", &format!("sqlite://{}", dir.path().join("scheduling.db").display())]);
    assert_one_clear_line("missing peer address", command, &["contacts", "LIAISON_CONTACTS_ADDR"]).await;

    let mut command = liaison();
    command.args(["serve", "contacts", "--listen", &format!("0.0.0.0:{}", free_port()), "--database-url", &sqlite]);
    assert_one_clear_line("non-loopback address without authentication", command, &["0.0.0.0", "--insecure"]).await;

    let mut command = liaison();
    command.args(["--base-port", "65534"]);
    assert_one_clear_line("all-in-one base port out of range", command, &["65534"]).await;
}

/// Separate from the cases above so that its failure names the problem: clap's first line for a missing
/// required argument is "the following required arguments were not provided:", which names nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_database_url_is_named_in_the_one_line() {
    let mut command = liaison();
    command.args(["serve", "contacts", "--listen", &format!("127.0.0.1:{}", free_port())]);
    assert_one_clear_line("missing DATABASE_URL", command, &["--database-url"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_exits_nonzero_when_nothing_listens() {
    let addr = format!("127.0.0.1:{}", free_port());
    for service in [None, Some("contacts")] {
        let mut command = liaison();
        command.args(["healthcheck", "--addr", &addr, "--timeout-ms", "2000"]);
        if let Some(service) = service {
            command.args(["--service", service]);
        }
        let case = format!("healthcheck of {addr} (service {service:?}) with nothing listening");
        let done = assert_one_clear_line(&case, command, &[&addr]).await;
        assert!(done.elapsed < Duration::from_secs(10), "{case} took {:?}", done.elapsed);
    }
}

/// The one line explains a rejected DATABASE_URL without repeating its password (it ends up in logs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_database_url_does_not_echo_its_password() {
    for url in ["mysql://app:s3cret@db.internal/liaison", "postgres://app:s3cret@db.internal:notaport/liaison"] {
        let mut command = liaison();
        command.args(["serve", "contacts", "--listen", &format!("127.0.0.1:{}", free_port())]);
        command.env("DATABASE_URL", url);
        let done = assert_one_clear_line(&format!("DATABASE_URL {url}"), command, &["db.internal"]).await;
        assert!(!done.stderr.contains("s3cret"), "the password of DATABASE_URL is on stderr:\n{}", done.stderr);
    }
}
