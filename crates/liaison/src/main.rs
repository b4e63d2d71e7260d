//! `liaison`: with no arguments, the all-in-one (the four services on their ports on 127.0.0.1, SQLite under
//! `./liaison-data/`, development mode with tokens signed by `liaison-data/dev-signing-key.pem` verified); `serve
//! <service>` runs one service; `migrate <service>` applies its migrations; `healthcheck` asks a server whether it
//! is SERVING; `token` mints a development token; `dev-pki` writes a development CA, certificates, signing key and
//! service tokens. Configuration errors end with one line on stderr and a non-zero exit.
mod limit_args;

use clap::{Args, Parser, Subcommand};
use liaison_runtime::auth;
use liaison_runtime::auth::keys::{DEFAULT_AUDIENCE, DEV_ISSUER, DevKey, MintClaims};
use liaison_runtime::config::{Peers, ServiceKind, ServiceSettings};
use liaison_runtime::db::DatabaseUrl;
use liaison_runtime::net::client::CallSettings;
use liaison_runtime::net::telemetry::{self, LogFormat};
use liaison_runtime::net::tls::{ClientTls, TlsSettings};
use liaison_runtime::security::{Security, SecuritySettings};
use liaison_runtime::service::{Running, StartError, migrate, start};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// mimalloc instead of the system allocator: request handling allocates many small, short-lived objects, and
/// glibc's malloc/free were ~15% of a service's CPU under load (perf).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(
    name = "liaison",
    version,
    about = "Liaison: contacts, scheduling, mediation and reporting for liaison offices"
)]
struct Cli {
    /// Log format: `text` or `json`.
    #[arg(long, env = "LIAISON_LOG_FORMAT", default_value = "text", global = true)]
    log_format: LogFormat,
    /// Serve Prometheus metrics on http://ADDR/metrics (e.g. 0.0.0.0:9464).
    #[arg(long, env = "LIAISON_METRICS_ADDR", global = true)]
    metrics_addr: Option<SocketAddr>,
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    all_in_one: AllInOneArgs,
}

#[derive(Subcommand, Debug)]
#[allow(clippy::large_enum_variant, reason = "parsed once at start; boxing would only complicate the CLI")]
enum Command {
    /// Run one service (as in a cluster).
    Serve(ServeArgs),
    /// Apply one service's database migrations and exit.
    Migrate(MigrateArgs),
    /// Exit 0 if the server at --addr reports SERVING, 1 otherwise.
    Healthcheck(HealthcheckArgs),
    /// Print a development token (signed by the all-in-one's development key) for the roles given.
    Token(TokenArgs),
    /// Write a development PKI: CA and host certificates, the token signing key, its JWKS and service tokens.
    DevPki(DevPkiArgs),
}

/// The all-in-one's development signing key, in its data directory.
const DEV_KEY_FILE: &str = "dev-signing-key.pem";

#[derive(Args, Debug)]
struct AllInOneArgs {
    /// Where the all-in-one keeps its four SQLite databases.
    #[arg(long, env = "LIAISON_DATA_DIR", default_value = "liaison-data")]
    data_dir: PathBuf,
    /// Port of contacts; scheduling, mediation and reporting take the next three.
    #[arg(long, env = "LIAISON_BASE_PORT", default_value_t = 50051, value_parser = clap::value_parser!(u16).range(1..=65532))]
    base_port: u16,
    /// Address the four services listen on; anything but loopback needs tokens and TLS, or --insecure.
    #[arg(long, env = "LIAISON_LISTEN_HOST", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    listen_host: IpAddr,
    #[command(flatten)]
    calls: CallArgs,
    #[command(flatten)]
    limits: limit_args::LimitArgs,
    /// With a key source (--jwks-file, --jwks-url, --dev-hs256-secret-file) tokens are required, as with `serve`;
    /// without one, development mode verifies tokens signed by `<data dir>/dev-signing-key.pem`.
    #[command(flatten)]
    security: SecurityArgs,
}

#[derive(Args, Debug)]
struct TokenArgs {
    /// A role the token grants (repeat for several): viewer, officer, mediator, admin or service.
    #[arg(long = "role", required = true)]
    roles: Vec<auth::Role>,
    /// Who the token names (`sub`), e.g. jane or service:scheduling.
    #[arg(long)]
    subject: String,
    /// The display name (`name`), e.g. "Jane Doe".
    #[arg(long)]
    name: Option<String>,
    /// The person's own contact (`contact`), `contacts/{id}`: how a mediator or case team member is recognised
    /// on the cases assigned to them.
    #[arg(long)]
    contact: Option<String>,
    /// How long the token is valid: e.g. 90s, 15m, 1h, 30d.
    #[arg(long, default_value = "1h", value_parser = parse_ttl)]
    ttl: Duration,
    /// The signing key (Ed25519, PKCS#8 PEM), created if absent [default: <data dir>/dev-signing-key.pem].
    #[arg(long)]
    key: Option<PathBuf>,
    /// The all-in-one's data directory, where its signing key is.
    #[arg(long, env = "LIAISON_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// The issuer (`iss`) to name.
    #[arg(long, default_value = DEV_ISSUER)]
    issuer: String,
    /// The audience (`aud`) to name.
    #[arg(long, default_value = DEFAULT_AUDIENCE)]
    audience: String,
}

#[derive(Args, Debug)]
struct DevPkiArgs {
    /// Directory to write into (created if missing; an existing CA and signing key there are kept).
    #[arg(long)]
    out: PathBuf,
    /// Hosts to issue a certificate and a service token for.
    #[arg(long, value_delimiter = ',', default_value = "contacts,scheduling,mediation,reporting")]
    hosts: Vec<String>,
    /// The issuer (`iss`) of the service tokens.
    #[arg(long, default_value = DEV_ISSUER)]
    issuer: String,
    /// The audience (`aud`) of the service tokens.
    #[arg(long, default_value = DEFAULT_AUDIENCE)]
    audience: String,
    /// How long the service tokens are valid (they are minted anew on every run).
    #[arg(long, default_value = "30d", value_parser = parse_ttl)]
    token_ttl: Duration,
}

/// A duration as `<number><unit>`, the unit one of s, m, h, d: e.g. 90s, 15m, 1h, 30d (at most ten years).
fn parse_ttl(text: &str) -> Result<Duration, String> {
    const MAX_SECONDS: u64 = 10 * 365 * 86_400;
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let bad = || format!("'{text}' is not a duration such as 90s, 15m, 1h or 30d");
    let number: u64 = number.parse().map_err(|_| bad())?;
    let unit_seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    match number.checked_mul(unit_seconds) {
        Some(0) => Err(format!("'{text}': the duration must be longer than zero")),
        Some(seconds) if seconds <= MAX_SECONDS => Ok(Duration::from_secs(seconds)),
        _ => Err(format!("'{text}': the duration must be at most ten years")),
    }
}

#[derive(Args, Debug, Clone, Copy)]
struct CallArgs {
    /// Deadline of each call to another service, in milliseconds.
    #[arg(long, env = "LIAISON_CALL_TIMEOUT_MS", default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    call_timeout_ms: u64,
    /// How long to wait for a connection to another service, in milliseconds.
    #[arg(long, env = "LIAISON_CONNECT_TIMEOUT_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    connect_timeout_ms: u64,
}

impl CallArgs {
    fn settings(self) -> CallSettings {
        CallSettings {
            call_timeout: Duration::from_millis(self.call_timeout_ms),
            connect_timeout: Duration::from_millis(self.connect_timeout_ms),
        }
    }
}

#[derive(Args, Debug)]
struct ServeArgs {
    /// contacts, scheduling, mediation or reporting.
    service: ServiceKind,
    /// Address to listen on [default: 127.0.0.1:<the service's port>].
    #[arg(long, env = "LIAISON_LISTEN_ADDR")]
    listen: Option<SocketAddr>,
    #[command(flatten)]
    database: DatabaseArgs,
    /// URL of the contacts service, e.g. http://contacts:50051 (scheduling, mediation, reporting).
    #[arg(long, env = "LIAISON_CONTACTS_ADDR")]
    contacts_addr: Option<String>,
    /// URL of the scheduling service (mediation, reporting).
    #[arg(long, env = "LIAISON_SCHEDULING_ADDR")]
    scheduling_addr: Option<String>,
    /// URL of the mediation service (reporting).
    #[arg(long, env = "LIAISON_MEDIATION_ADDR")]
    mediation_addr: Option<String>,
    #[command(flatten)]
    security: SecurityArgs,
    #[command(flatten)]
    calls: CallArgs,
    #[command(flatten)]
    limits: limit_args::LimitArgs,
}

/// Authentication, TLS and this service's own credentials (docs/security.md). Secrets only from files.
#[derive(Args, Debug, Clone)]
struct SecurityArgs {
    /// Verify bearer tokens against this JWKS file (re-read on a timer and on an unknown key id).
    #[arg(long, env = "LIAISON_JWKS_FILE", conflicts_with_all = ["jwks_url", "dev_hs256_secret_file"])]
    jwks_file: Option<PathBuf>,
    /// Verify bearer tokens against the JWKS served at this https:// URL.
    #[arg(long, env = "LIAISON_JWKS_URL", conflicts_with = "dev_hs256_secret_file")]
    jwks_url: Option<String>,
    /// CA certificate (PEM) of the JWKS URL's server, instead of the web PKI roots.
    #[arg(long, env = "LIAISON_JWKS_CA_FILE", requires = "jwks_url")]
    jwks_ca_file: Option<PathBuf>,
    /// Development only: verify HS256 tokens with the shared secret in this file.
    #[arg(long, env = "LIAISON_DEV_HS256_SECRET_FILE")]
    dev_hs256_secret_file: Option<PathBuf>,
    /// The issuer (`iss`) tokens must name; required with a key source.
    #[arg(long, env = "LIAISON_AUTH_ISSUER")]
    auth_issuer: Option<String>,
    /// The audience (`aud`) tokens must name.
    #[arg(long, env = "LIAISON_AUTH_AUDIENCE", default_value = "liaison")]
    auth_audience: String,
    /// Clock skew allowed on `exp` and `nbf`, in seconds.
    #[arg(long, env = "LIAISON_AUTH_LEEWAY_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=600))]
    auth_leeway_secs: u64,
    /// How often a JWKS file or URL is re-read, in seconds.
    #[arg(long, env = "LIAISON_JWKS_REFRESH_SECS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    jwks_refresh_secs: u64,
    /// Server certificate chain (PEM); turns TLS on (with --tls-key-file).
    #[arg(long, env = "LIAISON_TLS_CERT_FILE", requires = "tls_key_file")]
    tls_cert_file: Option<PathBuf>,
    /// Private key of --tls-cert-file (PEM).
    #[arg(long, env = "LIAISON_TLS_KEY_FILE", requires = "tls_cert_file")]
    tls_key_file: Option<PathBuf>,
    /// Require client certificates signed by this CA (mTLS).
    #[arg(long, env = "LIAISON_TLS_CLIENT_CA_FILE", requires = "tls_cert_file")]
    tls_client_ca_file: Option<PathBuf>,
    /// CA that signed the servers of https:// peers (the web PKI roots when unset).
    #[arg(long, env = "LIAISON_TLS_CA_FILE")]
    tls_ca_file: Option<PathBuf>,
    /// How often certificate files are checked for changes, in seconds.
    #[arg(long, env = "LIAISON_TLS_RELOAD_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    tls_reload_secs: u64,
    /// This service's own bearer token for calls to other services (re-read when the file changes).
    #[arg(long, env = "LIAISON_SERVICE_TOKEN_FILE")]
    service_token_file: Option<PathBuf>,
    /// Allow listening on a non-loopback address without authentication and TLS (logged as a warning).
    #[arg(long, env = "LIAISON_INSECURE", default_value_t = false)]
    insecure: bool,
}

impl SecurityArgs {
    /// The token settings, if a key source is configured.
    fn token_settings(&self) -> Result<Option<auth::TokenSettings>, Failure> {
        let keys = if let Some(path) = &self.jwks_file {
            auth::KeySource::JwksFile(path.clone())
        } else if let Some(url) = &self.jwks_url {
            auth::KeySource::JwksUrl { url: url.clone(), ca_file: self.jwks_ca_file.clone() }
        } else if let Some(path) = &self.dev_hs256_secret_file {
            let secret = std::fs::read(path)
                .map_err(|e| Failure::Config(format!("--dev-hs256-secret-file {}: {e}", path.display())))?;
            let secret = secret.trim_ascii().to_vec();
            if secret.len() < 32 {
                return Err(Failure::Config(format!(
                    "--dev-hs256-secret-file {}: the secret must be at least 32 bytes",
                    path.display()
                )));
            }
            auth::KeySource::SharedSecret(secret)
        } else {
            return Ok(None);
        };
        let issuer = self.auth_issuer.clone().ok_or_else(|| {
            Failure::Config("--auth-issuer (LIAISON_AUTH_ISSUER) is required with a token key source".to_owned())
        })?;
        Ok(Some(auth::TokenSettings {
            keys,
            issuer,
            audience: self.auth_audience.clone(),
            leeway: Duration::from_secs(self.auth_leeway_secs),
            refresh: Duration::from_secs(self.jwks_refresh_secs),
            refetch_floor: Duration::from_secs(10),
        }))
    }

    fn tls(&self) -> Option<TlsSettings> {
        let (cert_file, key_file) = (self.tls_cert_file.clone()?, self.tls_key_file.clone()?);
        Some(TlsSettings {
            cert_file,
            key_file,
            client_ca_file: self.tls_client_ca_file.clone(),
            ca_file: self.tls_ca_file.clone(),
            reload_interval: Duration::from_secs(self.tls_reload_secs),
        })
    }

    /// What `serve` runs with: tokens required when a key source is configured, development mode otherwise.
    fn settings(&self) -> Result<SecuritySettings, Failure> {
        let auth = match self.token_settings()? {
            Some(tokens) => auth::AuthSettings::Required(tokens),
            None => auth::AuthSettings::Development,
        };
        Ok(SecuritySettings {
            auth,
            tls: self.tls(),
            service_token_file: self.service_token_file.clone(),
            insecure: self.insecure,
        })
    }
}

#[derive(Args, Debug)]
struct MigrateArgs {
    /// contacts, scheduling, mediation or reporting.
    service: ServiceKind,
    #[command(flatten)]
    database: DatabaseArgs,
}

/// The service's database: its URL, or a file holding it (so that a password comes from a file or a Secret,
/// never from plain environment).
#[derive(Args, Debug, Clone)]
#[group(required = true, multiple = false)]
struct DatabaseArgs {
    /// postgres://user:password@host:port/database or sqlite://path/to/file.db
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<DatabaseUrl>,
    /// A file holding the database URL (e.g. a mounted Secret).
    #[arg(long, env = "DATABASE_URL_FILE")]
    database_url_file: Option<PathBuf>,
}

impl DatabaseArgs {
    fn url(&self) -> Result<DatabaseUrl, Failure> {
        if let Some(url) = &self.database_url {
            return Ok(url.clone());
        }
        let Some(path) = &self.database_url_file else {
            return Err(Failure::Config("--database-url or --database-url-file is required".to_owned()));
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure::Config(format!("--database-url-file {}: {e}", path.display())))?;
        text.trim().parse().map_err(|e| Failure::Config(format!("--database-url-file {}: {e}", path.display())))
    }
}

#[derive(Args, Debug)]
struct HealthcheckArgs {
    /// HOST:PORT of the server.
    #[arg(long)]
    addr: String,
    /// Service to ask about (a service name such as `contacts`, or a full gRPC name); the whole server if unset.
    #[arg(long, default_value = "")]
    service: String,
    /// How long to wait for an answer, in milliseconds.
    #[arg(long, default_value_t = 3000)]
    timeout_ms: u64,
    /// CA certificate (PEM) of an https:// server (the web PKI roots when unset).
    #[arg(long)]
    tls_ca_file: Option<PathBuf>,
    /// Client certificate (PEM) to present to a server that requires one (mTLS).
    #[arg(long, requires = "tls_key_file")]
    tls_cert_file: Option<PathBuf>,
    /// Private key of --tls-cert-file.
    #[arg(long, requires = "tls_cert_file")]
    tls_key_file: Option<PathBuf>,
}

/// Why the binary stops with an error: printed as one line, passwords hidden.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error(transparent)]
    Start(#[from] StartError),
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Security(#[from] liaison_runtime::security::SecurityError),
    #[error("signing key: {0}")]
    Key(#[from] auth::jwt::KeyError),
    #[error("TLS: {0}")]
    Tls(#[from] liaison_runtime::net::tls::TlsError),
    #[error(transparent)]
    DatabaseUrl(#[from] liaison_runtime::db::DatabaseUrlError),
    #[error(transparent)]
    Metrics(#[from] liaison_runtime::net::metrics::MetricsError),
    #[error("invalid --addr '{addr}': {source}")]
    BadHealthcheckAddress { addr: String, source: tonic::transport::Error },
    #[error("cannot reach {addr}: {chain}")]
    Unreachable { addr: String, chain: String },
    #[error("{addr} health check failed: {message}")]
    HealthCheck { addr: String, message: String },
    #[error("{addr} reports {status} for '{service}'")]
    NotServing { addr: String, status: &'static str, service: String },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion) => {
            e.exit()
        }
        Err(e) => {
            eprintln!("liaison: {}", one_line(&e.to_string()));
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("liaison: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let service_name = match &cli.command {
        Some(Command::Serve(args)) => format!("liaison-{}", args.service),
        Some(Command::Migrate(args)) => format!("liaison-{}", args.service),
        _ => "liaison".to_owned(),
    };
    let telemetry = {
        let _runtime = runtime.enter();
        telemetry::init(cli.log_format, &service_name)
    };
    let telemetry = match telemetry {
        Ok(telemetry) => telemetry,
        Err(message) => {
            eprintln!("liaison: {message}");
            return ExitCode::FAILURE;
        }
    };
    let metrics_addr = cli.metrics_addr;
    let outcome = runtime.block_on(async move {
        if let Some(addr) = metrics_addr
            && matches!(cli.command, None | Some(Command::Serve(_)))
        {
            liaison_runtime::net::metrics::serve(addr)?;
            tracing::info!(%addr, "metrics on /metrics");
        }
        match cli.command {
            None => all_in_one(cli.all_in_one).await,
            Some(Command::Serve(args)) => serve(args).await,
            Some(Command::Migrate(args)) => migrate_one(args.service, &args.database.url()?).await,
            Some(Command::Healthcheck(args)) => healthcheck(args).await,
            Some(Command::Token(args)) => print_token(&args, &cli.all_in_one.data_dir),
            Some(Command::DevPki(args)) => dev_pki(&args),
        }
    });
    {
        let _runtime = runtime.enter();
        telemetry.shutdown();
    }
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("liaison: {}", redact_passwords(&failure.to_string()));
            ExitCode::FAILURE
        }
    }
}

/// An error with its causes, e.g. "transport error: tcp connect error: Connection refused (os error 111)".
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// A clap error as one line: the message and what it lists, without the usage, with passwords hidden.
fn one_line(error: &str) -> String {
    let text = error
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Usage:"))
        .filter(|l| !l.is_empty() && !l.starts_with("For more information"))
        .collect::<Vec<_>>()
        .join(" ");
    redact_passwords(text.trim_start_matches("error: "))
}

/// Replaces the password of every `scheme://user:password@` in `text`.
fn redact_passwords(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("://") {
        let (before, after) = rest.split_at(start + 3);
        out.push_str(before);
        let end = after.find(|c: char| c.is_whitespace() || c == '\'' || c == '"').unwrap_or(after.len());
        let (authority, tail) = after.split_at(end);
        match (authority.find(':'), authority.rfind('@')) {
            (Some(colon), Some(at)) if colon < at => {
                out.push_str(&authority[..=colon]);
                out.push_str("***");
                out.push_str(&authority[at..]);
            }
            _ => out.push_str(authority),
        }
        rest = tail;
    }
    out.push_str(rest);
    out
}

async fn start_service(
    kind: ServiceKind,
    settings: ServiceSettings,
    shutdown: CancellationToken,
) -> Result<Running, StartError> {
    match kind {
        ServiceKind::Contacts => start::<liaison_contacts::Contacts>(settings, shutdown).await,
        ServiceKind::Scheduling => start::<liaison_scheduling::Scheduling>(settings, shutdown).await,
        ServiceKind::Mediation => start::<liaison_mediation::Mediation>(settings, shutdown).await,
        ServiceKind::Reporting => start::<liaison_reporting::Reporting>(settings, shutdown).await,
    }
}

async fn migrate_one(kind: ServiceKind, url: &DatabaseUrl) -> Result<(), Failure> {
    match kind {
        ServiceKind::Contacts => migrate::<liaison_contacts::Contacts>(url).await,
        ServiceKind::Scheduling => migrate::<liaison_scheduling::Scheduling>(url).await,
        ServiceKind::Mediation => migrate::<liaison_mediation::Mediation>(url).await,
        ServiceKind::Reporting => migrate::<liaison_reporting::Reporting>(url).await,
    }?;
    tracing::info!(service = kind.name(), database = %url, "migrations applied");
    Ok(())
}

/// Cancels `shutdown` on Ctrl-C / SIGTERM.
fn cancel_on_signal(shutdown: CancellationToken) {
    tokio::spawn(async move {
        liaison_runtime::net::shutdown::signal().await;
        tracing::info!("shutdown requested; finishing in-flight calls");
        shutdown.cancel();
    });
}

async fn serve(args: ServeArgs) -> Result<(), Failure> {
    let listen = args.listen.unwrap_or_else(|| args.service.default_listen());
    let security = Security::build(&args.security.settings()?).await?;
    let settings = ServiceSettings {
        listen,
        database_url: args.database.url()?,
        peers: Peers { contacts: args.contacts_addr, scheduling: args.scheduling_addr, mediation: args.mediation_addr },
        calls: args.calls.settings(),
        security,
        limits: args.limits.limits(),
    };
    let shutdown = CancellationToken::new();
    let running = start_service(args.service, settings, shutdown.clone()).await?;
    cancel_on_signal(shutdown);
    Ok(running.wait().await?)
}

/// The all-in-one's security: as `serve`'s when a key source is configured (tokens required); otherwise
/// development mode, verifying tokens signed by the data directory's development key (created if absent).
fn all_in_one_security(args: &AllInOneArgs) -> Result<SecuritySettings, Failure> {
    if args.security.token_settings()?.is_some() {
        return args.security.settings();
    }
    let key = DevKey::load_or_create(&args.data_dir.join(DEV_KEY_FILE))?;
    let mut tokens = auth::TokenSettings::new(auth::KeySource::Jwks(key.jwks()), DEV_ISSUER, DEFAULT_AUDIENCE);
    tokens.leeway = Duration::from_secs(args.security.auth_leeway_secs);
    Ok(SecuritySettings { auth: auth::AuthSettings::DevelopmentWithTokens(tokens), ..args.security.settings()? })
}

/// How the all-in-one's services reach each other: over loopback when they listen on every address or on
/// loopback, and by the name their development certificates carry (`localhost`) when TLS is on.
fn all_in_one_peer_url(listen: SocketAddr, tls: bool) -> String {
    let ip = listen.ip();
    let host = match (ip, tls) {
        (ip, true) if ip.is_loopback() || ip.is_unspecified() => "localhost".to_owned(),
        (IpAddr::V4(v4), false) if v4.is_unspecified() => Ipv4Addr::LOCALHOST.to_string(),
        (IpAddr::V6(v6), false) if v6.is_unspecified() => format!("[{}]", Ipv6Addr::LOCALHOST),
        (IpAddr::V6(v6), _) => format!("[{v6}]"),
        (IpAddr::V4(v4), _) => v4.to_string(),
    };
    format!("{}://{host}:{}", if tls { "https" } else { "http" }, listen.port())
}

async fn all_in_one(args: AllInOneArgs) -> Result<(), Failure> {
    let settings = all_in_one_security(&args)?;
    let tls = settings.tls.is_some();
    let security = Security::build(&settings).await?;
    if !security.gate.requires_tokens() {
        tracing::info!(
            "development mode: calls without a token act as their liaison-actor metadata (or anonymous) with every \
             role; calls with a token get its roles. Mint one with: liaison token --role officer --subject jane"
        );
    }
    let shutdown = CancellationToken::new();
    let mut running = Vec::new();
    let listen = |index: u16| SocketAddr::new(args.listen_host, args.base_port + index);
    let url = |index: u16| Some(all_in_one_peer_url(listen(index), tls));
    let peers = Peers { contacts: url(0), scheduling: url(1), mediation: url(2) };
    for (index, kind) in (0u16..).zip(ServiceKind::ALL) {
        let path = args.data_dir.join(format!("{}.db", kind.name()));
        let database_url: DatabaseUrl = format!("sqlite://{}", path.display()).parse()?;
        let settings = ServiceSettings {
            listen: listen(index),
            database_url,
            peers: peers.clone(),
            calls: args.calls.settings(),
            security: security.clone(),
            limits: args.limits.limits(),
        };
        match start_service(kind, settings, shutdown.clone()).await {
            Ok(server) => running.push(server),
            Err(e) => {
                shutdown.cancel();
                for server in running {
                    let _ = server.wait().await;
                }
                return Err(e.into());
            }
        }
    }
    tracing::info!(data_dir = %args.data_dir.display(), host = %args.listen_host, base_port = args.base_port, "all-in-one ready");
    cancel_on_signal(shutdown);
    let mut first_error = None;
    for server in running {
        if let Err(e) = server.wait().await {
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), |e| Err(e.into()))
}

/// `liaison token`: the token, minted with the key given (or the data directory's, created if absent).
fn mint_token(args: &TokenArgs, default_data_dir: &Path) -> Result<String, Failure> {
    let path = match (&args.key, &args.data_dir) {
        (Some(key), _) => key.clone(),
        (None, Some(dir)) => dir.join(DEV_KEY_FILE),
        (None, None) => default_data_dir.join(DEV_KEY_FILE),
    };
    let key = DevKey::load_or_create(&path)?;
    let claims = MintClaims {
        subject: args.subject.clone(),
        roles: args.roles.iter().copied().collect(),
        display_name: args.name.clone(),
        issuer: args.issuer.clone(),
        audience: args.audience.clone(),
        ttl: args.ttl,
        not_before: None,
        contact: args.contact.clone(),
    };
    Ok(key.mint(&claims)?)
}

#[allow(clippy::print_stdout, reason = "the token is the command's output, for `$(liaison token …)`")]
fn print_token(args: &TokenArgs, default_data_dir: &Path) -> Result<(), Failure> {
    println!("{}", mint_token(args, default_data_dir)?);
    Ok(())
}

/// `liaison dev-pki`: certificates (CA kept), the signing key (kept), its JWKS, and a service token per host
/// (minted anew each run).
fn dev_pki(args: &DevPkiArgs) -> Result<(), Failure> {
    liaison_runtime::net::tls::pki::write_development_certificates(&args.out, &args.hosts)?;
    let key = DevKey::load_or_create(&args.out.join("signing-key.pem"))?;
    let jwks_path = args.out.join("jwks.json");
    std::fs::write(&jwks_path, key.jwks())
        .map_err(|source| auth::jwt::KeyError::Io { path: jwks_path.clone(), source })?;
    for host in &args.hosts {
        let claims = MintClaims {
            subject: format!("service:{host}"),
            roles: auth::Roles::of(&[auth::Role::Service]),
            display_name: None,
            issuer: args.issuer.clone(),
            audience: args.audience.clone(),
            ttl: args.token_ttl,
            not_before: None,
            contact: None,
        };
        let token = key.mint(&claims)?;
        auth::keys::write_private(&args.out.join(format!("{host}.token")), format!("{token}\n").as_bytes())?;
    }
    tracing::info!(
        out = %args.out.display(),
        hosts = %args.hosts.join(","),
        kid = key.kid(),
        "development PKI written: ca.pem, <host>.pem/-key.pem, signing-key.pem, jwks.json, <host>.token"
    );
    Ok(())
}

async fn healthcheck(args: HealthcheckArgs) -> Result<(), Failure> {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_client::HealthClient;
    let service = match args.service.parse::<ServiceKind>() {
        Ok(kind) => kind.grpc_service().to_owned(),
        Err(_) => args.service.clone(),
    };
    let timeout = Duration::from_millis(args.timeout_ms);
    let url = if args.addr.contains("://") { args.addr.clone() } else { format!("http://{}", args.addr) };
    let channel = if url.starts_with("https://") {
        let tls = match (&args.tls_cert_file, &args.tls_key_file) {
            (Some(cert_file), Some(key_file)) => ClientTls::new(&TlsSettings {
                cert_file: cert_file.clone(),
                key_file: key_file.clone(),
                client_ca_file: None,
                ca_file: args.tls_ca_file.clone(),
                reload_interval: Duration::ZERO,
            }),
            _ => ClientTls::trusting(args.tls_ca_file.as_deref()),
        }
        .map_err(|e| Failure::Config(format!("healthcheck TLS: {e}")))?;
        let calls = CallSettings { call_timeout: timeout, connect_timeout: timeout };
        liaison_runtime::net::client::lazy_channel(&url, calls, Some(&tls))
            .map_err(|source| Failure::BadHealthcheckAddress { addr: args.addr.clone(), source })?
    } else {
        tonic::transport::Endpoint::from_shared(url.clone())
            .map_err(|source| Failure::BadHealthcheckAddress { addr: args.addr.clone(), source })?
            .connect_timeout(timeout)
            .timeout(timeout)
            .connect()
            .await
            .map_err(|e| Failure::Unreachable { addr: args.addr.clone(), chain: error_chain(&e) })?
    };
    let response = HealthClient::new(channel)
        .check(HealthCheckRequest { service: service.clone() })
        .await
        .map_err(|status| Failure::HealthCheck { addr: args.addr.clone(), message: status.message().to_owned() })?;
    let status = response.into_inner().status();
    if status == tonic_health::pb::health_check_response::ServingStatus::Serving {
        Ok(())
    } else {
        Err(Failure::NotServing { addr: args.addr, status: status.as_str_name(), service })
    }
}

#[cfg(test)]
mod tests;
