//! `liaison`: with no arguments, the all-in-one (the four services on their ports on 127.0.0.1, SQLite under
//! `./liaison-data/`); `serve <service>` runs one service; `migrate <service>` applies its migrations;
//! `healthcheck` asks a server whether it is SERVING. Configuration errors end with one line on stderr and a
//! non-zero exit.
use clap::{Args, Parser, Subcommand};
use liaison_runtime::auth;
use liaison_runtime::config::{Peers, ServiceKind, ServiceSettings};
use liaison_runtime::net::tls::TlsSettings;
use liaison_runtime::security::{Security, SecuritySettings};
use liaison_runtime::db::DatabaseUrl;
use liaison_runtime::net::client::CallSettings;
use liaison_runtime::net::telemetry::{self, LogFormat};
use liaison_runtime::service::{Running, StartError, migrate, start};
use std::net::SocketAddr;
use std::path::PathBuf;
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
enum Command {
    /// Run one service (as in a cluster).
    Serve(ServeArgs),
    /// Apply one service's database migrations and exit.
    Migrate(MigrateArgs),
    /// Exit 0 if the server at --addr reports SERVING, 1 otherwise.
    Healthcheck(HealthcheckArgs),
}

#[derive(Args, Debug)]
struct AllInOneArgs {
    /// Where the all-in-one keeps its four SQLite databases.
    #[arg(long, env = "LIAISON_DATA_DIR", default_value = "liaison-data")]
    data_dir: PathBuf,
    /// Port of contacts; scheduling, mediation and reporting take the next three.
    #[arg(long, env = "LIAISON_BASE_PORT", default_value_t = 50051, value_parser = clap::value_parser!(u16).range(1..=65532))]
    base_port: u16,
    #[command(flatten)]
    calls: CallArgs,
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
    /// postgres://user:password@host:port/database or sqlite://path/to/file.db
    #[arg(long, env = "DATABASE_URL")]
    database_url: DatabaseUrl,
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
    /// postgres://… or sqlite://…
    #[arg(long, env = "DATABASE_URL")]
    database_url: DatabaseUrl,
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
            && !matches!(cli.command, Some(Command::Healthcheck(_) | Command::Migrate(_)))
        {
            liaison_runtime::net::metrics::serve(addr)?;
            tracing::info!(%addr, "metrics on /metrics");
        }
        match cli.command {
            None => all_in_one(cli.all_in_one).await,
            Some(Command::Serve(args)) => serve(args).await,
            Some(Command::Migrate(args)) => migrate_one(args.service, &args.database_url).await,
            Some(Command::Healthcheck(args)) => healthcheck(args).await,
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
        database_url: args.database_url,
        peers: Peers { contacts: args.contacts_addr, scheduling: args.scheduling_addr, mediation: args.mediation_addr },
        calls: args.calls.settings(),
        security,
    };
    let shutdown = CancellationToken::new();
    let running = start_service(args.service, settings, shutdown.clone()).await?;
    cancel_on_signal(shutdown);
    Ok(running.wait().await?)
}

async fn all_in_one(args: AllInOneArgs) -> Result<(), Failure> {
    let shutdown = CancellationToken::new();
    let mut running = Vec::new();
    let listen = |index: u16| SocketAddr::from(([127, 0, 0, 1], args.base_port + index));
    let url = |index: u16| Some(format!("http://{}", listen(index)));
    let peers = Peers { contacts: url(0), scheduling: url(1), mediation: url(2) };
    let security = Security::development();
    for (index, kind) in (0u16..).zip(ServiceKind::ALL) {
        let path = args.data_dir.join(format!("{}.db", kind.name()));
        let database_url: DatabaseUrl = format!("sqlite://{}", path.display()).parse()?;
        let settings =
            ServiceSettings {
                listen: listen(index),
                database_url,
                peers: peers.clone(),
                calls: args.calls.settings(),
                security: security.clone(),
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
    tracing::info!(data_dir = %args.data_dir.display(), base_port = args.base_port, "all-in-one ready");
    cancel_on_signal(shutdown);
    let mut first_error = None;
    for server in running {
        if let Err(e) = server.wait().await {
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), |e| Err(e.into()))
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
    let endpoint = tonic::transport::Endpoint::from_shared(url.clone())
        .map_err(|source| Failure::BadHealthcheckAddress { addr: args.addr.clone(), source })?
        .connect_timeout(timeout)
        .timeout(timeout);
    let channel = endpoint
        .connect()
        .await
        .map_err(|e| Failure::Unreachable { addr: args.addr.clone(), chain: error_chain(&e) })?;
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
mod tests {
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
    fn a_missing_argument_is_named_on_the_one_line() {
        let error = Cli::try_parse_from(["liaison", "serve", "contacts"]).expect_err("no database url");
        let line = one_line(&error.to_string());
        assert!(line.contains("--database-url"), "{line}");
        assert!(!line.contains('\n'));
    }
}
