//! TLS end to end on loopback: certificates from the development PKI in a temporary directory, a tonic server
//! serving health over `ServerTls::incoming`, clients through `lazy_channel` or `ClientTls::connect`.
use super::pki::{write_client_certificate, write_development_certificates};
use super::*;
use crate::net::client::{CallSettings, lazy_channel};
use futures::StreamExt;
use std::path::Path;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

const POLL: Duration = Duration::from_millis(50);

/// A development PKI for `hosts` in a directory of its own.
fn pki(hosts: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    let hosts: Vec<String> = hosts.iter().map(|h| (*h).to_owned()).collect();
    write_development_certificates(dir.path(), &hosts).expect("development certificates");
    dir
}

/// The TLS settings of `host` in `dir`, trusting the CA of `dir`; with mTLS required when `client_ca` is set.
fn settings(dir: &Path, host: &str, client_ca: Option<&Path>) -> TlsSettings {
    TlsSettings {
        cert_file: dir.join(format!("{host}.pem")),
        key_file: dir.join(format!("{host}-key.pem")),
        client_ca_file: client_ca.map(Path::to_path_buf),
        ca_file: Some(dir.join("ca.pem")),
        reload_interval: POLL,
    }
}

/// Serves health over TLS on a loopback port until the returned token is cancelled.
async fn serve_health(tls: &ServerTls) -> (u16, CancellationToken) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let shutdown = CancellationToken::new();
    let (_reporter, health) = tonic_health::server::health_reporter();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(health)
            .serve_with_incoming_shutdown(tls.incoming(listener, shutdown.clone()), shutdown.clone().cancelled_owned()),
    );
    (port, shutdown)
}

/// A health check over `https://localhost:port`: the serving status, or why the call failed.
async fn check(port: u16, client: Option<&ClientTls>) -> Result<i32, tonic::Status> {
    let channel = lazy_channel(&format!("https://localhost:{port}"), CallSettings::default(), client).expect("channel");
    tokio::time::timeout(
        Duration::from_secs(5),
        HealthClient::new(channel).check(HealthCheckRequest { service: String::new() }),
    )
    .await
    .expect("answered in time")
    .map(|response| response.into_inner().status)
}

/// The first certificate of a PEM file.
fn certificate_in(path: &Path) -> CertificateDer<'static> {
    let pem = std::fs::read(path).expect("read certificate");
    certificates(path, &pem).expect("certificate").remove(0)
}

/// The certificates of a CA file as a root store.
fn roots_of(path: &Path) -> rustls::RootCertStore {
    let files = FileSet { identity: None, ca: Some(path.to_path_buf()) };
    files.roots(&files.read_now().expect("read")).expect("roots").expect("a CA file")
}

/// The certificate the server on `port` presents to a new connection.
async fn served_certificate(client: &ClientTls, port: u16) -> CertificateDer<'static> {
    let stream = client.connect("localhost", port, Duration::from_secs(2)).await.expect("handshake");
    stream.get_ref().1.peer_certificates().expect("the server presents a certificate")[0].clone()
}

/// What the server says to a client whose handshake it refused: TLS 1.3 clients finish their side first, so the
/// refusal arrives as the alert read right after.
async fn refusal(client: &ClientTls, port: u16) -> Option<rustls::AlertDescription> {
    let mut stream = client.connect("localhost", port, Duration::from_secs(2)).await.ok()?;
    let _ = stream.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").await;
    let mut buffer = [0u8; 64];
    match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer)).await.expect("answered in time") {
        Err(error) => match error.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()) {
            Some(rustls::Error::AlertReceived(alert)) => Some(*alert),
            _ => None,
        },
        Ok(_) => None,
    }
}

#[tokio::test]
async fn a_tls_server_answers_a_client_trusting_its_ca_over_https() {
    let dir = pki(&["localhost"]);
    let settings = settings(dir.path(), "localhost", None);
    let (port, _shutdown) = serve_health(&ServerTls::new(&settings).expect("server TLS")).await;
    let client = ClientTls::new(&settings).expect("client TLS");
    assert_eq!(check(port, Some(&client)).await.expect("health answers over TLS"), 1);
    let stream = client.connect("localhost", port, Duration::from_secs(2)).await.expect("handshake");
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"h2"[..]), "HTTP/2 is negotiated by ALPN");
}

#[tokio::test]
async fn a_client_not_trusting_the_servers_ca_is_refused() {
    let dir = pki(&["localhost"]);
    let other = pki(&["localhost"]);
    let (port, _shutdown) =
        serve_health(&ServerTls::new(&settings(dir.path(), "localhost", None)).expect("server TLS")).await;
    let stranger = ClientTls::trusting(Some(&other.path().join("ca.pem"))).expect("client TLS");
    assert!(check(port, Some(&stranger)).await.is_err());
    // Without a client TLS configuration an https:// URL is still TLS, checked against the web PKI roots.
    assert!(check(port, None).await.is_err());
}

#[tokio::test]
async fn a_certificate_replaced_on_disk_is_served_to_the_next_connection_without_restart() {
    let dir = pki(&["localhost"]);
    let settings = settings(dir.path(), "localhost", None);
    let (port, _shutdown) = serve_health(&ServerTls::new(&settings).expect("server TLS")).await;
    let client = ClientTls::new(&settings).expect("client TLS");
    let first = certificate_in(&settings.cert_file);
    assert_eq!(served_certificate(&client, port).await, first);

    // Issues a new certificate from the same CA in place of the first.
    write_development_certificates(dir.path(), &["localhost".to_owned()]).expect("new certificate");
    let second = certificate_in(&settings.cert_file);
    assert_ne!(first, second);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while served_certificate(&client, port).await != second {
        assert!(tokio::time::Instant::now() < deadline, "the new certificate was not served within 5 s");
        tokio::time::sleep(POLL).await;
    }
    assert_eq!(check(port, Some(&client)).await.expect("health answers with the new certificate"), 1);
}

#[tokio::test]
async fn a_replaced_certificate_that_does_not_load_keeps_the_previous_one_served() {
    let dir = pki(&["localhost"]);
    let settings = settings(dir.path(), "localhost", None);
    let (port, _shutdown) = serve_health(&ServerTls::new(&settings).expect("server TLS")).await;
    let client = ClientTls::new(&settings).expect("client TLS");
    let first = certificate_in(&settings.cert_file);
    assert_eq!(served_certificate(&client, port).await, first);

    std::fs::write(&settings.cert_file, "not a certificate").expect("overwrite");
    tokio::time::sleep(POLL * 6).await;
    assert_eq!(served_certificate(&client, port).await, first);
    assert_eq!(check(port, Some(&client)).await.expect("health still answers"), 1);
}

#[tokio::test]
async fn the_client_certificate_replaced_on_disk_is_presented_on_the_next_connection() {
    let dir = pki(&["localhost", "caller"]);
    let ca = dir.path().join("ca.pem");
    let server = ServerTls::new(&settings(dir.path(), "localhost", Some(&ca))).expect("server TLS");
    let (port, _shutdown) = serve_health(&server).await;
    let caller = settings(dir.path(), "caller", None);
    let client = ClientTls::new(&caller).expect("client TLS");
    assert_eq!(check(port, Some(&client)).await.expect("mTLS with the first certificate"), 1);

    // Replaces the caller's certificate by one of a foreign CA: once reloaded, the server refuses it.
    let foreign = pki(&["caller"]);
    std::fs::copy(foreign.path().join("caller-key.pem"), &caller.key_file).expect("copy key");
    std::fs::copy(foreign.path().join("caller.pem"), &caller.cert_file).expect("copy certificate");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while refusal(&client, port).await.is_none() {
        assert!(tokio::time::Instant::now() < deadline, "the new client certificate was not presented within 5 s");
        tokio::time::sleep(POLL).await;
    }
}

#[tokio::test]
async fn mtls_refuses_a_client_certificate_from_a_foreign_ca_at_handshake() {
    let dir = pki(&["localhost"]);
    let ca = dir.path().join("ca.pem");
    let (port, _shutdown) =
        serve_health(&ServerTls::new(&settings(dir.path(), "localhost", Some(&ca))).expect("server TLS")).await;
    // Trusts the server, but presents a certificate signed by another CA.
    let foreign = pki(&["caller"]);
    let client = ClientTls::new(&TlsSettings { ca_file: Some(ca), ..settings(foreign.path(), "caller", None) })
        .expect("client TLS");
    assert_eq!(refusal(&client, port).await, Some(rustls::AlertDescription::UnknownCA));
    assert!(check(port, Some(&client)).await.is_err());
}

#[tokio::test]
async fn mtls_refuses_a_client_without_a_certificate_at_handshake() {
    let dir = pki(&["localhost"]);
    let ca = dir.path().join("ca.pem");
    let (port, _shutdown) =
        serve_health(&ServerTls::new(&settings(dir.path(), "localhost", Some(&ca))).expect("server TLS")).await;
    let client = ClientTls::trusting(Some(&ca)).expect("client TLS");
    assert_eq!(refusal(&client, port).await, Some(rustls::AlertDescription::CertificateRequired));
    assert!(check(port, Some(&client)).await.is_err());
}

#[tokio::test]
async fn mtls_accepts_a_client_certificate_signed_by_the_client_ca() {
    // Each service presents its own server certificate as its client certificate.
    let dir = pki(&["contacts", "scheduling"]);
    let ca = dir.path().join("ca.pem");
    let server = ServerTls::new(&settings(dir.path(), "contacts", Some(&ca))).expect("server TLS");
    assert!(server.requires_client_certificates());
    let (port, _shutdown) = serve_health(&server).await;
    let client = ClientTls::new(&settings(dir.path(), "scheduling", None)).expect("client TLS");
    assert_eq!(check(port, Some(&client)).await.expect("mTLS call answered"), 1);
}

#[tokio::test]
async fn an_operator_client_certificate_is_accepted_by_an_mtls_server() {
    let dir = pki(&["localhost"]);
    write_client_certificate(dir.path(), "operator").expect("client certificate");
    let ca = dir.path().join("ca.pem");
    let (port, _shutdown) =
        serve_health(&ServerTls::new(&settings(dir.path(), "localhost", Some(&ca))).expect("server TLS")).await;
    let client = ClientTls::new(&settings(dir.path(), "operator", None)).expect("client TLS");
    assert_eq!(check(port, Some(&client)).await.expect("mTLS call answered"), 1);
}

#[tokio::test]
async fn a_stalled_handshake_does_not_block_another_clients_handshake() {
    let dir = pki(&["localhost"]);
    let settings = settings(dir.path(), "localhost", None);
    let (port, _shutdown) = serve_health(&ServerTls::new(&settings).expect("server TLS")).await;
    // Connect and send nothing: each of these holds a handshake open until its timeout (seconds away).
    let mut stalled = Vec::new();
    for _ in 0..4 {
        stalled.push(tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("raw connect"));
    }
    let client = ClientTls::new(&settings).expect("client TLS");
    let answered = tokio::time::timeout(Duration::from_secs(2), check(port, Some(&client))).await;
    assert_eq!(answered.expect("answered while the stalled handshakes wait").expect("health answers"), 1);
    drop(stalled);
}

#[tokio::test]
async fn the_incoming_stream_ends_on_shutdown() {
    let dir = pki(&["localhost"]);
    let tls = ServerTls::new(&settings(dir.path(), "localhost", None)).expect("server TLS");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let shutdown = CancellationToken::new();
    let mut incoming = tls.incoming(listener, shutdown.clone());
    // A handshake in progress at shutdown does not hold the stream open.
    let _stalled = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("raw connect");
    tokio::time::sleep(POLL).await;
    shutdown.cancel();
    let end = tokio::time::timeout(Duration::from_secs(1), incoming.next()).await.expect("ended in time");
    assert!(end.is_none());
}

#[tokio::test]
async fn serve_speaks_tls_when_security_has_a_server_certificate() {
    let dir = pki(&["localhost"]);
    let settings = settings(dir.path(), "localhost", None);
    let security = crate::security::Security::build(&crate::security::SecuritySettings {
        tls: Some(settings.clone()),
        ..Default::default()
    })
    .await
    .expect("security");
    let url: crate::db::DatabaseUrl =
        format!("sqlite://{}?mode=rwc", dir.path().join("db.sqlite").display()).parse().expect("database url");
    let db = crate::db::Db::connect(&url).await.expect("database");
    let mounted = crate::net::server::Mounted {
        service_name: "liaison.test.v1.TestService",
        routes: tonic::service::Routes::default(),
        db,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(crate::net::server::serve(
        listener,
        mounted,
        security.clone(),
        Default::default(),
        shutdown.clone(),
    ));
    assert_eq!(check(port, security.client_tls.as_ref()).await.expect("health answers over TLS"), 1);
    // Plaintext is not spoken on a TLS port.
    let plain = lazy_channel(&format!("http://localhost:{port}"), CallSettings::default(), None).expect("channel");
    assert!(HealthClient::new(plain).check(HealthCheckRequest { service: String::new() }).await.is_err());
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("stopped in time")
        .expect("joined")
        .expect("served");
}

#[test]
fn a_missing_file_is_named_in_the_error() {
    let dir = pki(&["localhost"]);
    let mut settings = settings(dir.path(), "localhost", None);
    settings.key_file = dir.path().join("absent-key.pem");
    let error = ServerTls::new(&settings).expect_err("no key");
    assert!(error.to_string().contains("absent-key.pem"), "{error}");
}

#[test]
fn a_file_without_a_certificate_is_named_in_the_error() {
    let dir = pki(&["localhost"]);
    let settings = settings(dir.path(), "localhost", None);
    // A key where the certificate should be: valid PEM, but no CERTIFICATE block.
    std::fs::copy(&settings.key_file, &settings.cert_file).expect("copy");
    let error = ServerTls::new(&settings).expect_err("no certificate");
    let message = error.to_string();
    assert!(message.contains("localhost.pem") && message.contains("no certificate"), "{message}");
}

#[test]
fn a_key_that_does_not_match_the_certificate_is_refused_naming_both_files() {
    let dir = pki(&["localhost", "other"]);
    let settings =
        TlsSettings { key_file: dir.path().join("other-key.pem"), ..settings(dir.path(), "localhost", None) };
    let error = ServerTls::new(&settings).expect_err("mismatched key");
    let message = error.to_string();
    assert!(message.contains("localhost.pem") && message.contains("other-key.pem"), "{message}");
    assert!(ClientTls::new(&settings).is_err());
}

#[test]
fn a_client_ca_that_is_not_a_certificate_is_refused() {
    let dir = pki(&["localhost"]);
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n").expect("write");
    let error = ServerTls::new(&settings(dir.path(), "localhost", Some(&garbage))).expect_err("bad CA");
    assert!(error.to_string().contains("garbage.pem"), "{error}");
}

#[tokio::test]
async fn development_certificates_are_trusted_through_their_ca_for_every_host_name() {
    let dir = pki(&["contacts"]);
    for name in ["contacts.pem", "contacts-key.pem", "ca.pem", "ca-key.pem"] {
        assert!(dir.path().join(name).is_file(), "{name} written");
    }
    let server = ServerTls::new(&settings(dir.path(), "contacts", None)).expect("server TLS");
    let (port, _shutdown) = serve_health(&server).await;
    let client = ClientTls::trusting(Some(&dir.path().join("ca.pem"))).expect("client TLS");
    assert_eq!(check(port, Some(&client)).await.expect("health answers"), 1);
    // The certificate names the host itself (its address in a cluster) and the loopback names and addresses.
    for name in ["contacts", "localhost", "127.0.0.1", "::1"] {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
        let server_name = rustls::pki_types::ServerName::try_from(name).expect("name").to_owned();
        tokio_rustls::TlsConnector::from(client.current_config())
            .connect(server_name, tcp)
            .await
            .unwrap_or_else(|e| panic!("{name} is not in the certificate: {e}"));
    }
}

#[test]
fn rerunning_the_development_pki_keeps_the_ca_and_issues_new_host_certificates() {
    let dir = pki(&["contacts"]);
    let read = |name: &str| std::fs::read(dir.path().join(name)).expect("read");
    let (ca, ca_key, host) = (read("ca.pem"), read("ca-key.pem"), read("contacts.pem"));
    write_development_certificates(dir.path(), &["contacts".to_owned(), "reporting".to_owned()]).expect("rerun");
    assert_eq!(read("ca.pem"), ca);
    assert_eq!(read("ca-key.pem"), ca_key);
    assert_ne!(read("contacts.pem"), host);
    assert!(dir.path().join("reporting.pem").is_file());
    // The new certificates chain to the kept CA.
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots_of(&dir.path().join("ca.pem"))),
        provider(),
    )
    .build()
    .expect("verifier");
    let now = rustls::pki_types::UnixTime::now();
    for host in ["contacts", "reporting"] {
        let certificate = certificate_in(&dir.path().join(format!("{host}.pem")));
        verifier.verify_client_cert(&certificate, &[], now).expect("signed by the kept CA");
    }
}

#[test]
fn half_a_ca_is_not_replaced() {
    let dir = pki(&["contacts"]);
    std::fs::remove_file(dir.path().join("ca-key.pem")).expect("remove");
    let error = write_development_certificates(dir.path(), &["contacts".to_owned()]).expect_err("half a CA");
    assert!(error.to_string().contains("ca-key.pem"), "{error}");
    assert!(!dir.path().join("ca-key.pem").exists());
}

#[test]
fn a_host_name_that_would_leave_the_directory_is_refused() {
    let dir = tempfile::tempdir().expect("temporary directory");
    for name in ["../escape", "a/b", "", ".hidden"] {
        assert!(write_development_certificates(dir.path(), &[name.to_owned()]).is_err(), "{name:?}");
    }
    assert!(write_client_certificate(dir.path(), "../escape").is_err());
    assert!(!dir.path().join("ca.pem").exists(), "nothing written for a refused name");
}

#[cfg(unix)]
#[test]
fn development_private_keys_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = pki(&["contacts"]);
    write_client_certificate(dir.path(), "operator").expect("client certificate");
    for name in ["ca-key.pem", "contacts-key.pem", "operator-key.pem"] {
        let mode = std::fs::metadata(dir.path().join(name)).expect("metadata").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{name}");
    }
}

#[test]
fn the_development_pki_creates_its_directory() {
    let parent = tempfile::tempdir().expect("temporary directory");
    let dir = parent.path().join("nested").join("pki");
    write_development_certificates(&dir, &["contacts".to_owned()]).expect("written");
    assert!(dir.join("contacts.pem").is_file());
}
