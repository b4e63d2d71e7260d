use super::*;

#[test]
fn passwords_are_hidden_in_any_message() {
    let message = "invalid value 'mysql://app:s3cret@db/x' for '--database-url': postgres://u:p@h:5/d";
    let redacted = redact_passwords(message);
    assert!(!redacted.contains("s3cret") && !redacted.contains(":p@"), "{redacted}");
    assert!(redacted.contains("mysql://app:***@db/x"));
    assert_eq!(redact_passwords("http://contacts:50051"), "http://contacts:50051");
}

#[test]
fn ttls_take_a_unit_and_stay_within_bounds() {
    assert_eq!(parse_ttl("90s"), Ok(Duration::from_secs(90)));
    assert_eq!(parse_ttl("15m"), Ok(Duration::from_secs(900)));
    assert_eq!(parse_ttl("1h"), Ok(Duration::from_secs(3600)));
    assert_eq!(parse_ttl("30d"), Ok(Duration::from_secs(30 * 86_400)));
    for bad in ["", "90", "h", "1.5h", "-1h", "1w", "0s", "3651d", "99999999999999999999d", "1 h"] {
        assert!(parse_ttl(bad).is_err(), "{bad}");
    }
}

/// A fresh directory under the system's temporary one.
fn scratch_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    std::env::temp_dir().join(format!("liaison-{name}-{}-{nanos}", std::process::id()))
}

#[tokio::test]
async fn a_liaison_token_verifies_with_the_all_in_ones_settings_and_carries_its_roles() {
    let dir = scratch_dir("token");
    let data_dir = dir.to_str().expect("utf-8 path");
    let cli = Cli::try_parse_from([
        "liaison",
        "--data-dir",
        data_dir,
        "token",
        "--role",
        "officer",
        "--role",
        "admin",
        "--subject",
        "jane",
        "--name",
        "Jane Doe",
        "--ttl",
        "15m",
    ])
    .expect("parsed");
    let Some(Command::Token(args)) = &cli.command else { panic!("not the token command") };
    let token = mint_token(args, &cli.all_in_one.data_dir).expect("minted");
    assert!(!token.contains(char::is_whitespace), "one line: {token}");
    assert!(dir.join(DEV_KEY_FILE).exists(), "the key is created in the data directory");

    let all_in_one = Cli::try_parse_from(["liaison", "--data-dir", data_dir]).expect("parsed");
    let settings = all_in_one_security(&all_in_one.all_in_one).expect("settings");
    assert!(matches!(settings.auth, auth::AuthSettings::DevelopmentWithTokens(_)));
    let security = Security::build(&settings).await.expect("security");
    assert!(!security.gate.requires_tokens(), "calls without a token still work");
    let mut headers = tonic::codegen::http::HeaderMap::new();
    headers.insert(tonic::codegen::http::header::AUTHORIZATION, format!("Bearer {token}").parse().expect("header"));
    let rpc = "liaison.contacts.v1.ContactsService/GetContact";
    let caller = security.gate.admit(&headers, rpc, None).await.expect("admitted");
    assert_eq!(caller.subject(), "jane");
    assert_eq!(caller.identity.roles, auth::Roles::of(&[auth::Role::Officer, auth::Role::Admin]));
    assert_eq!(caller.identity.display_name.as_deref(), Some("Jane Doe"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_key_source_makes_the_all_in_one_require_tokens() {
    let dir = scratch_dir("required");
    let jwks = dir.join("jwks.json");
    let cli = Cli::try_parse_from([
        "liaison",
        "--data-dir",
        dir.to_str().expect("utf-8"),
        "--jwks-file",
        jwks.to_str().expect("utf-8"),
        "--auth-issuer",
        "https://issuer.example",
    ])
    .expect("parsed");
    let settings = all_in_one_security(&cli.all_in_one).expect("settings");
    assert!(matches!(settings.auth, auth::AuthSettings::Required(_)));
    assert!(!dir.join(DEV_KEY_FILE).exists(), "no development key is made");
}

#[test]
fn the_all_in_ones_peers_are_reached_over_loopback_or_by_their_certificates_name() {
    let at = |host: &str| SocketAddr::new(host.parse().expect("ip"), 50051);
    assert_eq!(all_in_one_peer_url(at("127.0.0.1"), false), "http://127.0.0.1:50051");
    assert_eq!(all_in_one_peer_url(at("0.0.0.0"), false), "http://127.0.0.1:50051");
    assert_eq!(all_in_one_peer_url(at("::"), false), "http://[::1]:50051");
    assert_eq!(all_in_one_peer_url(at("0.0.0.0"), true), "https://localhost:50051");
    assert_eq!(all_in_one_peer_url(at("127.0.0.1"), true), "https://localhost:50051");
    assert_eq!(all_in_one_peer_url(at("10.1.2.3"), false), "http://10.1.2.3:50051");
}

#[test]
fn dev_pki_writes_a_service_token_per_host_that_the_published_jwks_verifies() {
    let dir = scratch_dir("pki");
    let cli = Cli::try_parse_from([
        "liaison",
        "dev-pki",
        "--out",
        dir.to_str().expect("utf-8"),
        "--hosts",
        "contacts,scheduling",
    ])
    .expect("parsed");
    let Some(Command::DevPki(args)) = &cli.command else { panic!("not dev-pki") };
    dev_pki(args).expect("dev-pki");
    let first = std::fs::read_to_string(dir.join("contacts.token")).expect("token");
    let jwks = std::fs::read_to_string(dir.join("jwks.json")).expect("jwks");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let settings = auth::TokenSettings::new(auth::KeySource::Jwks(jwks), DEV_ISSUER, DEFAULT_AUDIENCE);
    let identity = runtime.block_on(async {
        let verifier = auth::Verifier::new(settings).await.expect("verifier");
        verifier.verify(first.trim()).await.expect("verified")
    });
    assert_eq!(identity.subject, "service:contacts");
    assert_eq!(identity.roles, auth::Roles::of(&[auth::Role::Service]));
    for file in ["ca.pem", "contacts.pem", "scheduling-key.pem", "signing-key.pem", "scheduling.token"] {
        assert!(dir.join(file).exists(), "{file}");
    }
    // A second run keeps the signing key (the published JWKS stays valid) and re-mints the tokens.
    let kid = DevKey::load(&dir.join("signing-key.pem")).expect("key").kid().to_owned();
    dev_pki(args).expect("second run");
    assert_eq!(DevKey::load(&dir.join("signing-key.pem")).expect("key").kid(), kid);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_missing_argument_is_named_on_the_one_line() {
    let error = Cli::try_parse_from(["liaison", "serve", "contacts"]).expect_err("no database url");
    let line = one_line(&error.to_string());
    assert!(line.contains("--database-url"), "{line}");
    assert!(!line.contains('\n'));
}
