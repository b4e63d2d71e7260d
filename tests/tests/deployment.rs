//! The deployment as shipped: the compose file's four services run as `liaison serve` processes with exactly the
//! environment the compose file gives them (only what one machine forces is remapped: ports, host names, the
//! volumes' paths), with TLS and bearer tokens on a PKI made by the compose `pki` service (the binary's own
//! `dev-pki`), on databases, roles and passwords made by the real init scripts; their traces reach an OTLP
//! receiver, their metrics are scraped from `/metrics`; and JSON logs carry the ids of the trace they belong to.
//! The deploy files keep every secret in read-only files and run nothing insecure.
#![allow(clippy::expect_used, reason = "end-to-end test: a step that fails panics with its cause")]
use liaison_proto::contacts::v1::contacts_service_client::ContactsServiceClient;
use liaison_proto::contacts::v1::{Contact, CreateContactRequest, GetContactRequest};
use liaison_runtime::config::ServiceKind;
use liaison_testkit::Call;
use liaison_testkit::cluster::Pki;
use liaison_testkit::e2e::{
    Access, Bearer, Cluster, GRPC_SERVICES, Proc, SERVICES, assert_all_serving_over, binary, cross_service_flow_with,
    free_port, free_ports, liaison, run_to_end, serving, serving_over, url, with_free_ports, workspace_root,
};
use liaison_testkit::otlp::{OtlpReceiver, ReceivedSpan};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const COMPOSE_FILE: &str = "deploy/compose/docker-compose.yml";
const ENV_EXAMPLE: &str = "deploy/compose/.env.example";
const INIT_SCRIPT: &str = "deploy/compose/postgres-init/01-databases.sh";
const COLLECTOR_CONFIG: &str = "deploy/otel-collector.yaml";

/// How long spans may take to reach the receiver once the processes have stopped (they flush at shutdown).
const SPANS_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the metrics may take to show what the flow did (the pool gauge is sampled every 500 ms).
const METRICS_TIMEOUT: Duration = Duration::from_secs(5);
/// Deadline of one external command (psql, bash, the health check).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// Variables the binary reads although they are no command-line option: the log filter and OpenTelemetry's.
const READ_OUTSIDE_CLAP: [&str; 3] = ["RUST_LOG", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME"];

// ---------------------------------------------------------------------------------------------------------------
// The compose file.

/// One Liaison service of the compose file, as written.
struct ComposeService {
    name: String,
    /// `command:`.
    command: Vec<String>,
    /// `environment:`, in file order, before interpolation.
    environment: Vec<(String, String)>,
    /// `depends_on:`.
    depends_on: Vec<String>,
    /// `healthcheck.test` (empty when it has none).
    healthcheck: Vec<String>,
    /// `entrypoint:` (empty when the image's).
    entrypoint: Vec<String>,
    /// `volumes:`, short syntax: (source, target, read-only).
    volumes: Vec<(String, String, bool)>,
}

fn read_workspace_file(path: &str) -> String {
    let full = workspace_root().join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("cannot read {}: {e}", full.display()))
}

fn compose_document() -> serde_yaml::Value {
    serde_yaml::from_str(&read_workspace_file(COMPOSE_FILE)).unwrap_or_else(|e| panic!("{COMPOSE_FILE}: {e}"))
}

/// A scalar as compose turns it into an environment value (strings, numbers and booleans; null is empty).
fn scalar(value: &serde_yaml::Value, what: &str) -> String {
    match value {
        serde_yaml::Value::String(s) => s.clone(),
        serde_yaml::Value::Number(n) => n.to_string(),
        serde_yaml::Value::Bool(b) => b.to_string(),
        serde_yaml::Value::Null => String::new(),
        other => panic!("{COMPOSE_FILE}: {what} is not a scalar: {other:?}"),
    }
}

fn string_list(value: &serde_yaml::Value, what: &str) -> Vec<String> {
    value
        .as_sequence()
        .unwrap_or_else(|| panic!("{COMPOSE_FILE}: {what} is not a list: {value:?}"))
        .iter()
        .map(|item| scalar(item, what))
        .collect()
}

/// The four Liaison services of the compose file, in [`SERVICES`] order.
fn compose_services(document: &serde_yaml::Value) -> Vec<ComposeService> {
    SERVICES
        .iter()
        .map(|&name| {
            let service = compose_service(document, name);
            assert!(!service.healthcheck.is_empty(), "{COMPOSE_FILE}: {name} has no healthcheck.test");
            assert!(!service.command.is_empty(), "{COMPOSE_FILE}: {name} has no command");
            service
        })
        .collect()
}

/// Every service of the compose file, by name.
fn all_compose_services(document: &serde_yaml::Value) -> Vec<ComposeService> {
    let services = document
        .get("services")
        .and_then(serde_yaml::Value::as_mapping)
        .unwrap_or_else(|| panic!("{COMPOSE_FILE} has no `services:` mapping"));
    services.keys().map(|key| compose_service(document, &scalar(key, "a service name"))).collect()
}

/// One service of the compose file, as written.
fn compose_service(document: &serde_yaml::Value, name: &str) -> ComposeService {
    let service = document
        .get("services")
        .and_then(|services| services.get(name))
        .unwrap_or_else(|| panic!("{COMPOSE_FILE} has no service {name}"));
    let environment = match service.get("environment") {
        None => Vec::new(),
        Some(environment) => environment
            .as_mapping()
            .unwrap_or_else(|| panic!("{COMPOSE_FILE}: {name}.environment is not a KEY: value mapping"))
            .iter()
            .map(|(key, value)| {
                let key = scalar(key, &format!("a key of {name}.environment"));
                let value = scalar(value, &format!("{name}.environment.{key}"));
                (key, value)
            })
            .collect(),
    };
    let depends_on = match service.get("depends_on") {
        None => Vec::new(),
        Some(serde_yaml::Value::Mapping(map)) => {
            map.keys().map(|key| scalar(key, &format!("{name}.depends_on"))).collect()
        }
        Some(list) => string_list(list, &format!("{name}.depends_on")),
    };
    let list = |key: &str| service.get(key).map(|v| string_list(v, &format!("{name}.{key}"))).unwrap_or_default();
    let healthcheck = service
        .get("healthcheck")
        .and_then(|h| h.get("test"))
        .map(|test| string_list(test, &format!("{name}.healthcheck.test")))
        .unwrap_or_default();
    let volumes = list("volumes")
        .into_iter()
        .map(|volume| {
            let parts: Vec<&str> = volume.split(':').collect();
            match parts.as_slice() {
                [source, target] => ((*source).to_owned(), (*target).to_owned(), false),
                [source, target, mode] => {
                    ((*source).to_owned(), (*target).to_owned(), mode.split(',').any(|m| m == "ro"))
                }
                _ => panic!("{COMPOSE_FILE}: {name}.volumes: {volume:?} is not SOURCE:TARGET[:MODE]"),
            }
        })
        .collect();
    ComposeService {
        name: name.to_owned(),
        command: list("command"),
        environment,
        depends_on,
        healthcheck,
        entrypoint: list("entrypoint"),
        volumes,
    }
}

/// Compose interpolation of `text` with the variables of an operator's `.env` (`vars`): `${VAR:-default}`,
/// `${VAR-default}`, `${VAR:?message}`, `${VAR?message}`, `${VAR}`, `$VAR` and `$$`. A variable that is unset
/// and has no default panics (compose would substitute an empty string with a warning). Returns the result and
/// the names referenced.
fn interpolate(text: &str, vars: &BTreeMap<String, String>) -> (String, Vec<String>) {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
            continue;
        }
        let (expression, tail) = if let Some(braced) = after.strip_prefix('{') {
            let end = braced.find('}').unwrap_or_else(|| panic!("unclosed ${{ in {text:?}"));
            (&braced[..end], &braced[end + 1..])
        } else {
            let end = after.find(|c: char| !is_name(c)).unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        let name_end = expression.find(|c: char| !is_name(c)).unwrap_or(expression.len());
        let (name, modifier) = expression.split_at(name_end);
        assert!(!name.is_empty(), "a `$` names no variable in {text:?}");
        names.push(name.to_owned());
        let value = vars.get(name);
        let substituted = if modifier.is_empty() {
            value.cloned().unwrap_or_else(|| panic!("{text:?} needs {name}, which is unset and has no default"))
        } else if let Some(default) = modifier.strip_prefix(":-") {
            value.filter(|v| !v.is_empty()).cloned().unwrap_or_else(|| default.to_owned())
        } else if let Some(default) = modifier.strip_prefix('-') {
            value.cloned().unwrap_or_else(|| default.to_owned())
        } else if let Some(message) = modifier.strip_prefix(":?").or_else(|| modifier.strip_prefix('?')) {
            value.filter(|v| !v.is_empty()).cloned().unwrap_or_else(|| panic!("{name} is required: {message}"))
        } else {
            panic!("unsupported interpolation ${{{expression}}} in {text:?}")
        };
        out.push_str(&substituted);
        rest = tail;
    }
    out.push_str(rest);
    (out, names)
}

/// Every `${VAR:-default}` in the values of `document` (comments are not values), as (VAR, default).
fn defaults_in(document: &serde_yaml::Value) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut pending = vec![document];
    while let Some(value) = pending.pop() {
        match value {
            serde_yaml::Value::String(text) => {
                let mut rest = text.as_str();
                while let Some(start) = rest.find("${") {
                    let inner = &rest[start + 2..];
                    let Some(end) = inner.find('}') else { break };
                    if let Some((name, default)) = inner[..end].split_once(":-") {
                        found.push((name.to_owned(), default.to_owned()));
                    }
                    rest = &inner[end + 1..];
                }
            }
            serde_yaml::Value::Sequence(items) => pending.extend(items),
            serde_yaml::Value::Mapping(map) => pending.extend(map.values()),
            serde_yaml::Value::Tagged(tagged) => pending.push(&tagged.value),
            _ => {}
        }
    }
    found.sort();
    found.dedup();
    found
}

/// `KEY=value` lines of `.env.example` (comments and blank lines skipped).
fn env_example() -> BTreeMap<String, String> {
    read_workspace_file(ENV_EXAMPLE)
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (key, value) = line.split_once('=').unwrap_or_else(|| panic!("{ENV_EXAMPLE}: not KEY=value: {line}"));
            (key.trim().to_owned(), value.trim().to_owned())
        })
        .collect()
}

/// The port of a `host:port` or `scheme://host:port` value, with its host.
fn host_and_port(value: &str) -> Option<(&str, u16)> {
    let authority = value.split_once("://").map_or(value, |(_, rest)| rest);
    let authority = authority.split('/').next().unwrap_or(authority);
    let (host, port) = authority.rsplit_once(':')?;
    Some((host, port.parse().ok()?))
}

// ---------------------------------------------------------------------------------------------------------------
// Who calls whom: the deploy files against `ServiceKind::dependencies()`, the one declaration of it.

const BINARY_MAIN: &str = "crates/liaison/src/main.rs";
const K8S_CONFIGMAP: &str = "deploy/k8s/configmap.yaml";
const NETWORK_POLICIES: &str = "deploy/k8s/networkpolicies.yaml";

/// The pods that may call every service port although they are no service, on purpose: a gateway, a grpcurl
/// debug pod, a smoke test, labelled `liaison-api-client: "true"` in the namespace.
const API_CLIENT_LABELS: [(&str, &str); 1] = [("liaison-api-client", "true")];

/// Egress of every pod of the namespace: DNS.
const DNS_EGRESS: [(&str, &str); 2] = [("UDP/53", "every pod resolves names"), ("TCP/53", "every pod resolves names")];

/// Egress of every service besides the services it calls, by port only (a managed database lives outside the
/// cluster): its PostgreSQL database and the OpenTelemetry collector.
const SERVICE_INFRASTRUCTURE_EGRESS: [(&str, &str); 2] =
    [("TCP/5432", "each service reaches its PostgreSQL database"), ("TCP/4317", "each service exports OTLP traces")];

/// The variable that tells a service where `peer` is (`--<peer>-addr` of `liaison serve`).
fn address_variable(peer: ServiceKind) -> String {
    format!("LIAISON_{}_ADDR", peer.name().to_uppercase())
}

/// Where a service finds `peer` in a cluster: its compose service or Kubernetes Service, on its port.
fn address_value(peer: ServiceKind) -> String {
    format!("https://{}:{}", peer.name(), peer.default_port())
}

fn service_named(name: &str) -> Option<ServiceKind> {
    ServiceKind::ALL.into_iter().find(|kind| kind.name() == name)
}

/// One line per disagreement between the `environment` of `kind` (`whose` says where it is written) and
/// `kind`'s dependencies: a dependency whose address is missing or names something else, or the address of a
/// service it does not call.
fn peer_address_drift(whose: &str, kind: ServiceKind, environment: &BTreeMap<String, String>) -> Vec<String> {
    let mut drift = Vec::new();
    for peer in ServiceKind::ALL {
        let variable = address_variable(peer);
        let expected = address_value(peer);
        match (kind.dependencies().contains(&peer), environment.get(&variable)) {
            (true, None) => drift.push(format!("{whose} lacks {variable}, but {kind} calls {peer}")),
            (true, Some(value)) if *value != expected => {
                drift.push(format!("{whose} sets {variable}={value}, but {kind} calls {peer} at {expected}"))
            }
            (false, Some(value)) => {
                drift.push(format!("{whose} sets {variable}={value}, but {kind} does not call {peer}"))
            }
            _ => {}
        }
    }
    drift
}

/// The compose file against `ServiceKind::dependencies()`: each service's peer addresses, and the services in its
/// `depends_on`, are exactly the services it calls. One line per disagreement, naming the service.
fn compose_call_drift(document: &serde_yaml::Value) -> Vec<String> {
    let mut drift = Vec::new();
    for (kind, service) in ServiceKind::ALL.into_iter().zip(compose_services(document)) {
        assert_eq!(service.name, kind.name(), "SERVICES is in ServiceKind::ALL order");
        let environment = service.environment.iter().cloned().collect();
        drift.extend(peer_address_drift(&format!("{COMPOSE_FILE}: {kind}.environment"), kind, &environment));
        let waits_for: Vec<ServiceKind> = service.depends_on.iter().filter_map(|name| service_named(name)).collect();
        for dependency in kind.dependencies().iter().filter(|d| !waits_for.contains(d)) {
            drift.push(format!("{COMPOSE_FILE}: {kind}.depends_on lacks {dependency}, but {kind} calls {dependency}"));
        }
        for other in waits_for.iter().filter(|d| !kind.dependencies().contains(d)) {
            drift.push(format!("{COMPOSE_FILE}: {kind}.depends_on names {other}, but {kind} does not call {other}"));
        }
    }
    drift
}

/// `value` at `path` (mapping keys).
fn yaml_at<'a>(value: &'a serde_yaml::Value, path: &[&str]) -> Option<&'a serde_yaml::Value> {
    path.iter().try_fold(value, |value, key| value.get(*key))
}

/// A mapping of scalars (labels, `matchLabels`, a ConfigMap's `data`); absent is empty.
fn string_map(value: Option<&serde_yaml::Value>, what: &str) -> BTreeMap<String, String> {
    match value {
        None | Some(serde_yaml::Value::Null) => BTreeMap::new(),
        Some(serde_yaml::Value::Mapping(map)) => {
            map.iter().map(|(key, value)| (scalar(key, what), scalar(value, what))).collect()
        }
        Some(other) => panic!("{what} is not a mapping: {other:?}"),
    }
}

/// The documents of a multi-document YAML file (documents of comments only are skipped).
fn yaml_documents(path: &str) -> Vec<serde_yaml::Value> {
    let text = read_workspace_file(path);
    let mut documents = Vec::new();
    let mut current = String::new();
    for line in text.lines().chain(std::iter::once("---")) {
        if line.trim_end() == "---" {
            let document: serde_yaml::Value = serde_yaml::from_str(&current).unwrap_or_else(|e| panic!("{path}: {e}"));
            if !document.is_null() {
                documents.push(document);
            }
            current.clear();
        } else {
            current.push_str(line);
            current.push('\n');
        }
    }
    documents
}

/// The Kubernetes manifests that say who calls whom.
struct K8sManifests {
    /// The Deployment of each service, in `ServiceKind::ALL` order.
    deployments: Vec<serde_yaml::Value>,
    /// `liaison-config`, loaded by every container with `envFrom`.
    configmap: serde_yaml::Value,
    network_policies: Vec<serde_yaml::Value>,
}

fn k8s_manifests() -> K8sManifests {
    let deployments = ServiceKind::ALL
        .into_iter()
        .map(|kind| {
            let path = format!("deploy/k8s/{kind}.yaml");
            yaml_documents(&path)
                .into_iter()
                .find(|document| {
                    document.get("kind").and_then(serde_yaml::Value::as_str) == Some("Deployment")
                        && yaml_at(document, &["metadata", "name"]).and_then(serde_yaml::Value::as_str)
                            == Some(kind.name())
                })
                .unwrap_or_else(|| panic!("{path} has no Deployment named {kind}"))
        })
        .collect();
    let configmap = yaml_documents(K8S_CONFIGMAP)
        .into_iter()
        .find(|document| document.get("kind").and_then(serde_yaml::Value::as_str) == Some("ConfigMap"))
        .unwrap_or_else(|| panic!("{K8S_CONFIGMAP} has no ConfigMap"));
    let network_policies: Vec<serde_yaml::Value> = yaml_documents(NETWORK_POLICIES);
    for policy in &network_policies {
        assert_eq!(
            policy.get("kind").and_then(serde_yaml::Value::as_str),
            Some("NetworkPolicy"),
            "{NETWORK_POLICIES} holds NetworkPolicies only: {policy:?}"
        );
    }
    K8sManifests { deployments, configmap, network_policies }
}

/// The environment a container sets itself (`env:`; a `valueFrom` is shown as such).
fn container_environment(container: &serde_yaml::Value, what: &str) -> BTreeMap<String, String> {
    let Some(env) = container.get("env") else { return BTreeMap::new() };
    env.as_sequence()
        .unwrap_or_else(|| panic!("{what}: env is not a list"))
        .iter()
        .map(|entry| {
            let name = entry.get("name").map(|n| scalar(n, what)).unwrap_or_else(|| panic!("{what}: env {entry:?}"));
            let value = match (entry.get("value"), entry.get("valueFrom")) {
                (Some(value), _) => scalar(value, what),
                (None, Some(_)) => "(valueFrom)".to_owned(),
                (None, None) => String::new(),
            };
            (name, value)
        })
        .collect()
}

/// The Deployments against `ServiceKind::dependencies()`: each service's container sets exactly the addresses of
/// the services it calls, and the ConfigMap every container loads sets none.
fn k8s_environment_drift(manifests: &K8sManifests) -> Vec<String> {
    let mut drift = Vec::new();
    for (kind, deployment) in ServiceKind::ALL.into_iter().zip(&manifests.deployments) {
        let path = format!("deploy/k8s/{kind}.yaml");
        let containers = yaml_at(deployment, &["spec", "template", "spec", "containers"])
            .and_then(serde_yaml::Value::as_sequence)
            .unwrap_or_else(|| panic!("{path}: the Deployment has no containers"));
        match containers.iter().find(|c| c.get("name").and_then(serde_yaml::Value::as_str) == Some(kind.name())) {
            None => drift.push(format!("{path}: the Deployment has no container named {kind}")),
            Some(container) => {
                let whose = format!("{path}: container {kind}'s env");
                drift.extend(peer_address_drift(&whose, kind, &container_environment(container, &whose)));
            }
        }
    }
    let shared = string_map(manifests.configmap.get("data"), K8S_CONFIGMAP);
    for peer in ServiceKind::ALL {
        let variable = address_variable(peer);
        if shared.contains_key(&variable) {
            drift.push(format!(
                "{K8S_CONFIGMAP} sets {variable} for every service, but only {:?} call {peer}",
                peer.dependants().iter().map(|k| k.name()).collect::<Vec<_>>()
            ));
        }
    }
    drift
}

/// The other end of a connection a NetworkPolicy allows.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Peer {
    /// The pods of one Liaison service.
    Service(&'static str),
    /// Other pods of the namespace, by the labels their `podSelector` asks for (`key=value,…`).
    Pods(String),
    /// Anything: a rule without `from`/`to`, or a direction no policy restricts.
    Anywhere,
    /// What this check does not model (a namespaceSelector, an ipBlock, matchExpressions), as written.
    Other(String),
}

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Service(name) => f.write_str(name),
            Self::Pods(labels) => write!(f, "pods labelled {labels}"),
            Self::Anywhere => f.write_str("anywhere"),
            Self::Other(text) => write!(f, "{{{text}}}"),
        }
    }
}

/// A connection allowed to or from a pod: the other end and `PROTOCOL/port` (`any port` when a rule names none).
type Flow = (Peer, String);

/// Ingress or egress, with the words the NetworkPolicy API and the messages use.
#[derive(Clone, Copy)]
struct Direction {
    policy_type: &'static str,
    rules: &'static str,
    peers: &'static str,
    preposition: &'static str,
}

const INGRESS: Direction = Direction { policy_type: "Ingress", rules: "ingress", peers: "from", preposition: "from" };
const EGRESS: Direction = Direction { policy_type: "Egress", rules: "egress", peers: "to", preposition: "to" };

/// The labels of each service's pods (its Deployment's pod template), in `ServiceKind::ALL` order.
fn service_pod_labels(manifests: &K8sManifests) -> Vec<(ServiceKind, BTreeMap<String, String>)> {
    ServiceKind::ALL
        .into_iter()
        .zip(&manifests.deployments)
        .map(|(kind, deployment)| {
            let labels = yaml_at(deployment, &["spec", "template", "metadata", "labels"]);
            (kind, string_map(labels, &format!("deploy/k8s/{kind}.yaml: pod labels")))
        })
        .collect()
}

fn describe_labels(labels: &BTreeMap<String, String>) -> String {
    labels.iter().map(|(key, value)| format!("{key}={value}")).collect::<Vec<_>>().join(",")
}

/// Whether a label selector selects pods labelled `labels`; `Err` for a selector this check does not model.
fn selects(selector: Option<&serde_yaml::Value>, labels: &BTreeMap<String, String>) -> Result<bool, String> {
    let Some(selector) = selector.filter(|s| !s.is_null()) else { return Ok(true) };
    if selector.get("matchExpressions").is_some() {
        return Err(format!("matchExpressions {selector:?}"));
    }
    let wanted = string_map(selector.get("matchLabels"), "matchLabels");
    Ok(wanted.iter().all(|(key, value)| labels.get(key) == Some(value)))
}

/// The peers of one rule's `from`/`to`, against the services' pods.
fn rule_peers(peers: Option<&serde_yaml::Value>, services: &[(ServiceKind, BTreeMap<String, String>)]) -> Vec<Peer> {
    let items = peers.and_then(serde_yaml::Value::as_sequence).map(Vec::as_slice).unwrap_or_default();
    if items.is_empty() {
        return vec![Peer::Anywhere];
    }
    let mut found = Vec::new();
    for item in items {
        if item.get("namespaceSelector").is_some() || item.get("ipBlock").is_some() {
            found.push(Peer::Other(format!("{item:?}")));
            continue;
        }
        let selector = item.get("podSelector");
        if selector.is_some_and(|s| s.get("matchExpressions").is_some()) {
            found.push(Peer::Other(format!("{item:?}")));
            continue;
        }
        let mut selected: Vec<Peer> = services
            .iter()
            .filter(|(_, labels)| selects(selector, labels).unwrap_or(false))
            .map(|(kind, _)| Peer::Service(kind.name()))
            .collect();
        let wanted = string_map(selector.and_then(|s| s.get("matchLabels")), "matchLabels");
        // A selector that is not one service's own (by name) may select other pods too.
        if selected.is_empty() || !wanted.contains_key("app.kubernetes.io/name") {
            selected.push(Peer::Pods(describe_labels(&wanted)));
        }
        found.extend(selected);
    }
    found
}

/// The `PROTOCOL/port` entries of one rule's `ports`.
fn rule_ports(ports: Option<&serde_yaml::Value>) -> Vec<String> {
    let items = ports.and_then(serde_yaml::Value::as_sequence).map(Vec::as_slice).unwrap_or_default();
    if items.is_empty() {
        return vec!["any port".to_owned()];
    }
    items
        .iter()
        .map(|item| {
            let protocol = item.get("protocol").map_or_else(|| "TCP".to_owned(), |p| scalar(p, "protocol"));
            let port = item.get("port").map_or_else(|| "any".to_owned(), |p| scalar(p, "port"));
            match item.get("endPort") {
                Some(end) => format!("{protocol}/{port}-{}", scalar(end, "endPort")),
                None => format!("{protocol}/{port}"),
            }
        })
        .collect()
}

/// Every connection the policies allow in `direction` for pods labelled `labels` (the union of the rules of the
/// policies that select them; a pod no policy selects for that direction is not isolated in it).
fn allowed_flows(
    policies: &[serde_yaml::Value],
    labels: &BTreeMap<String, String>,
    direction: Direction,
    services: &[(ServiceKind, BTreeMap<String, String>)],
) -> BTreeSet<Flow> {
    let mut isolated = false;
    let mut flows = BTreeSet::new();
    for policy in policies {
        let spec = policy.get("spec").unwrap_or_else(|| panic!("{NETWORK_POLICIES}: a policy without spec"));
        let types = match spec.get("policyTypes") {
            Some(types) => string_list(types, "policyTypes"),
            None if spec.get("egress").is_some() => vec!["Ingress".to_owned(), "Egress".to_owned()],
            None => vec!["Ingress".to_owned()],
        };
        if !types.iter().any(|t| t == direction.policy_type) {
            continue;
        }
        match selects(spec.get("podSelector"), labels) {
            Ok(false) => continue,
            Ok(true) => {}
            Err(unsupported) => {
                flows.insert((Peer::Other(format!("a policy selecting by {unsupported}")), "any port".to_owned()));
                continue;
            }
        }
        isolated = true;
        let rules = spec.get(direction.rules).and_then(serde_yaml::Value::as_sequence).map(Vec::as_slice);
        for rule in rules.unwrap_or_default() {
            let ports = rule_ports(rule.get("ports"));
            for peer in rule_peers(rule.get(direction.peers), services) {
                flows.extend(ports.iter().map(|port| (peer.clone(), port.clone())));
            }
        }
    }
    if !isolated {
        flows.insert((Peer::Anywhere, "any port".to_owned()));
    }
    flows
}

fn tcp(port: u16) -> String {
    format!("TCP/{port}")
}

/// One line per connection allowed but not expected, or expected (with why) but not allowed.
fn flow_drift(
    what: &str,
    direction: Direction,
    allowed: &BTreeSet<Flow>,
    expected: &BTreeMap<Flow, String>,
) -> Vec<String> {
    let preposition = direction.preposition;
    let mut drift = Vec::new();
    for ((peer, port), why) in expected.iter().filter(|(flow, _)| !allowed.contains(flow)) {
        drift.push(format!("{NETWORK_POLICIES}: {what} {preposition} {peer} on {port} is not allowed, but {why}"));
    }
    for (peer, port) in allowed.iter().filter(|flow| !expected.contains_key(flow)) {
        drift.push(format!(
            "{NETWORK_POLICIES}: {what} {preposition} {peer} on {port} is allowed, but neither \
             ServiceKind::dependencies() nor a deliberate exception asks for it"
        ));
    }
    drift
}

/// The NetworkPolicies against `ServiceKind::dependencies()`: each service's port accepts exactly the services
/// that call it and API clients; each service reaches exactly the services it calls, DNS, PostgreSQL and OTLP;
/// API clients reach every service and DNS, and nothing reaches them.
fn network_policy_drift(manifests: &K8sManifests) -> Vec<String> {
    let services = service_pod_labels(manifests);
    let policies = &manifests.network_policies;
    let api_client: BTreeMap<String, String> =
        API_CLIENT_LABELS.iter().map(|(key, value)| ((*key).to_owned(), (*value).to_owned())).collect();
    let api_clients = Peer::Pods(describe_labels(&api_client));
    let dns = || DNS_EGRESS.iter().map(|(port, why)| ((Peer::Anywhere, (*port).to_owned()), (*why).to_owned()));
    let mut drift = Vec::new();
    for (kind, labels) in &services {
        let port = tcp(kind.default_port());
        let mut ingress: BTreeMap<Flow, String> = kind
            .dependants()
            .into_iter()
            .map(|caller| ((Peer::Service(caller.name()), port.clone()), format!("{caller} calls {kind}")))
            .collect();
        ingress.insert((api_clients.clone(), port.clone()), "API clients may call every service".to_owned());
        let allowed = allowed_flows(policies, labels, INGRESS, &services);
        drift.extend(flow_drift(&format!("ingress to {kind}"), INGRESS, &allowed, &ingress));

        let mut egress: BTreeMap<Flow, String> = kind
            .dependencies()
            .iter()
            .map(|d| ((Peer::Service(d.name()), tcp(d.default_port())), format!("{kind} calls {d}")))
            .collect();
        egress.extend(dns());
        egress.extend(
            SERVICE_INFRASTRUCTURE_EGRESS
                .iter()
                .map(|(port, why)| ((Peer::Anywhere, (*port).to_owned()), (*why).to_owned())),
        );
        let allowed = allowed_flows(policies, labels, EGRESS, &services);
        drift.extend(flow_drift(&format!("egress of {kind}"), EGRESS, &allowed, &egress));
    }
    let mut egress: BTreeMap<Flow, String> = ServiceKind::ALL
        .into_iter()
        .map(|kind| ((Peer::Service(kind.name()), tcp(kind.default_port())), format!("API clients may call {kind}")))
        .collect();
    egress.extend(dns());
    let allowed = allowed_flows(policies, &api_client, EGRESS, &services);
    drift.extend(flow_drift(&format!("egress of {api_clients}"), EGRESS, &allowed, &egress));
    let allowed = allowed_flows(policies, &api_client, INGRESS, &services);
    drift.extend(flow_drift(&format!("ingress to {api_clients}"), INGRESS, &allowed, &BTreeMap::new()));
    drift
}

// ---------------------------------------------------------------------------------------------------------------
// Secrets: files only, TLS and tokens everywhere, nothing insecure.

const DOCKERFILE: &str = "deploy/Dockerfile";

/// The variables that turn on TLS and tokens and give a service its own credentials, each a file.
const SECURITY_FILES: [&str; 5] = [
    "LIAISON_TLS_CERT_FILE",
    "LIAISON_TLS_KEY_FILE",
    "LIAISON_TLS_CA_FILE",
    "LIAISON_JWKS_FILE",
    "LIAISON_SERVICE_TOKEN_FILE",
];

/// Whether a variable named `key` would hold a secret itself (a password, a key, a token) rather than name a file
/// or a directory of them.
fn holds_a_secret(key: &str) -> bool {
    let key = key.to_uppercase();
    let names_a_path = key.ends_with("_FILE") || key.ends_with("_DIR");
    !names_a_path && ["PASSWORD", "SECRET", "TOKEN", "KEY", "CREDENTIAL"].iter().any(|w| key.contains(w))
}

/// Whether `value` carries a credential: a URL with a password (`scheme://user:password@host`) or PEM text.
fn carries_a_credential(value: &str) -> bool {
    let in_url = value.split("://").skip(1).any(|rest| {
        let authority = rest.split('/').next().unwrap_or(rest);
        authority.rsplit_once('@').is_some_and(|(userinfo, _)| userinfo.contains(':'))
    });
    in_url || value.contains("-----BEGIN")
}

/// One line per variable of `environment` that holds a secret or says insecure (`whose` names the container).
fn environment_drift(whose: &str, environment: &[(String, String)]) -> Vec<String> {
    let mut drift = Vec::new();
    for (key, value) in environment {
        if holds_a_secret(key) || carries_a_credential(value) {
            drift.push(format!("{whose} sets {key} to a literal secret; put it in a file and set {key}_FILE"));
        }
        if key == "LIAISON_INSECURE" || value.contains("--insecure") {
            drift.push(format!("{whose} sets {key}={value}: nothing runs insecure"));
        }
        if key == "DATABASE_URL" {
            drift.push(format!("{whose} sets DATABASE_URL; the URL holds a password: use DATABASE_URL_FILE"));
        }
    }
    drift
}

/// One line per `*_FILE` variable of `environment` whose file is not in a volume mounted read-only: `mounts` are
/// (target, read-only).
fn file_mount_drift(whose: &str, environment: &[(String, String)], mounts: &[(String, bool)]) -> Vec<String> {
    let mut drift = Vec::new();
    for (key, path) in environment.iter().filter(|(key, _)| key.ends_with("_FILE")) {
        let mount = mounts
            .iter()
            .filter(|(target, _)| path.starts_with(&format!("{}/", target.trim_end_matches('/'))))
            .max_by_key(|(target, _)| target.len());
        match mount {
            None => drift.push(format!("{whose} sets {key}={path}, which is in no mounted volume or secret")),
            Some((target, false)) => {
                drift.push(format!("{whose} sets {key}={path}, but {target} is mounted read-write"))
            }
            Some(_) => {}
        }
    }
    drift
}

/// One line per missing piece of a service's security: TLS certificate, key and peers' CA, the JWKS and the
/// issuer, its own token, and its database URL from a file.
fn security_drift(whose: &str, environment: &BTreeMap<String, String>) -> Vec<String> {
    let mut drift = Vec::new();
    for key in SECURITY_FILES.iter().chain(&["DATABASE_URL_FILE", "LIAISON_AUTH_ISSUER"]) {
        if environment.get(*key).is_none_or(String::is_empty) {
            drift.push(format!("{whose} lacks {key}: every service runs with TLS, tokens and its own credentials"));
        }
    }
    drift
}

/// The compose file against the rules: no secret in any environment, every `*_FILE` in a volume its service
/// mounts read-only, every Liaison service with TLS and tokens (and health checks over TLS), the development
/// PKI made by the `pki` init service into the volume the services mount.
fn compose_secret_drift(document: &serde_yaml::Value) -> Vec<String> {
    let mut drift = Vec::new();
    let everything = all_compose_services(document);
    for service in &everything {
        let whose = format!("{COMPOSE_FILE}: {}.environment", service.name);
        drift.extend(environment_drift(&whose, &service.environment));
        let mounts: Vec<(String, bool)> = service.volumes.iter().map(|(_, target, ro)| (target.clone(), *ro)).collect();
        drift.extend(file_mount_drift(&whose, &service.environment, &mounts));
        for arg in service.command.iter().chain(&service.entrypoint) {
            if arg.contains("insecure") {
                drift.push(format!("{COMPOSE_FILE}: {} runs with {arg}", service.name));
            }
        }
    }
    let pki = everything.iter().find(|s| s.name == "pki");
    let pki_volume = pki.and_then(|pki| {
        let out = pki.command.iter().skip_while(|arg| *arg != "--out").nth(1)?;
        (pki.command.first().map(String::as_str) == Some("dev-pki"))
            .then(|| pki.volumes.iter().find(|(_, target, _)| target == out).map(|(source, ..)| source.clone()))
            .flatten()
    });
    if pki_volume.is_none() {
        drift.push(format!("{COMPOSE_FILE}: no `pki` service runs `dev-pki --out <a volume>`"));
    }
    for service in compose_services(document) {
        let whose = format!("{COMPOSE_FILE}: {}.environment", service.name);
        drift.extend(security_drift(&whose, &service.environment.iter().cloned().collect()));
        if let Some(volume) = &pki_volume
            && !service.volumes.iter().any(|(source, _, ro)| source == volume && *ro)
        {
            drift.push(format!("{COMPOSE_FILE}: {} does not mount the {volume} volume read-only", service.name));
        }
        if !service.depends_on.iter().any(|d| d == "pki") {
            drift.push(format!("{COMPOSE_FILE}: {}.depends_on lacks pki, which makes its certificates", service.name));
        }
        let test = &service.healthcheck;
        let ca = test.iter().skip_while(|arg| *arg != "--tls-ca-file").nth(1);
        let mounts: Vec<(String, bool)> = service.volumes.iter().map(|(_, target, ro)| (target.clone(), *ro)).collect();
        match ca {
            Some(ca) if test.iter().any(|arg| arg.starts_with("https://")) => drift.extend(file_mount_drift(
                &format!("{COMPOSE_FILE}: {}.healthcheck", service.name),
                &[("--tls-ca-file".to_owned() + "_FILE", ca.clone())],
                &mounts,
            )),
            _ => drift.push(format!("{COMPOSE_FILE}: {}.healthcheck does not ask over TLS: {test:?}", service.name)),
        }
    }
    drift
}

/// The Kubernetes manifests against the same rules: no secret and no insecure switch in any environment (nor in
/// the ConfigMap every container loads, nor taken from a Secret into a variable), every `*_FILE` in a volume the
/// container mounts read-only, every server with TLS and tokens.
fn k8s_secret_drift(manifests: &K8sManifests) -> Vec<String> {
    let mut drift = Vec::new();
    let shared: Vec<(String, String)> =
        string_map(manifests.configmap.get("data"), K8S_CONFIGMAP).into_iter().collect();
    drift.extend(environment_drift(&format!("{K8S_CONFIGMAP}: data"), &shared));
    for (kind, deployment) in ServiceKind::ALL.into_iter().zip(&manifests.deployments) {
        let path = format!("deploy/k8s/{kind}.yaml");
        let pod = yaml_at(deployment, &["spec", "template", "spec"]).unwrap_or_else(|| panic!("{path}: no pod spec"));
        for list in ["initContainers", "containers"] {
            let containers = pod.get(list).and_then(serde_yaml::Value::as_sequence).map(Vec::as_slice);
            for container in containers.unwrap_or_default() {
                let name = container.get("name").map(|n| scalar(n, "a container name")).unwrap_or_default();
                let whose = format!("{path}: container {name}'s env");
                let environment: Vec<(String, String)> = container_environment(container, &whose).into_iter().collect();
                drift.extend(environment_drift(&whose, &environment));
                let entries = container.get("env").and_then(serde_yaml::Value::as_sequence).map(Vec::as_slice);
                for entry in entries.unwrap_or_default() {
                    if yaml_at(entry, &["valueFrom", "secretKeyRef"]).is_some() {
                        drift.push(format!(
                            "{whose} takes {:?} from a Secret into a variable; mount it as a file",
                            entry.get("name")
                        ));
                    }
                }
                let mounts: Vec<(String, bool)> = container
                    .get("volumeMounts")
                    .and_then(serde_yaml::Value::as_sequence)
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                    .iter()
                    .map(|mount| {
                        let target = mount.get("mountPath").map(|p| scalar(p, "mountPath")).unwrap_or_default();
                        (target, mount.get("readOnly").and_then(serde_yaml::Value::as_bool) == Some(true))
                    })
                    .collect();
                drift.extend(file_mount_drift(&whose, &environment, &mounts));
                let args = container.get("args").map(|args| string_list(args, "args")).unwrap_or_default();
                for arg in args {
                    if arg.contains("insecure") {
                        drift.push(format!("{path}: container {name} runs with {arg}"));
                    }
                }
                if list == "containers" && name == kind.name() {
                    let mut merged: BTreeMap<String, String> = shared.iter().cloned().collect();
                    merged.extend(environment);
                    drift.extend(security_drift(&whose, &merged));
                }
            }
        }
    }
    drift
}

/// Non-comment lines of the Dockerfile that switch security off.
fn dockerfile_drift() -> Vec<String> {
    read_workspace_file(DOCKERFILE)
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter(|line| line.contains("LIAISON_INSECURE") || line.contains("--insecure"))
        .map(|line| format!("{DOCKERFILE}: {line}"))
        .collect()
}

// ---------------------------------------------------------------------------------------------------------------
// PostgreSQL through its own tools (psql), as an operator works with it.

/// The test server, from `LIAISON_TEST_POSTGRES_URL` (`postgres://user[:password]@host[:port][/database]`).
#[derive(Debug, Clone)]
struct PgServer {
    host: String,
    port: u16,
    user: String,
    password: Option<String>,
    database: String,
}

impl PgServer {
    fn parse(url: &str) -> Self {
        let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
        let rest = rest.split('?').next().unwrap_or(rest);
        let (authority, database) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, hostport) = authority.rsplit_once('@').unwrap_or(("", authority));
        let (user, password) = match userinfo.split_once(':') {
            Some((user, password)) => (user, Some(password.to_owned())),
            None => (userinfo, None),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((host, port)) => {
                (host, port.parse().unwrap_or_else(|_| panic!("LIAISON_TEST_POSTGRES_URL: bad port in {hostport}")))
            }
            None => (hostport, 5432),
        };
        let or = |value: &str, default: &str| if value.is_empty() { default.to_owned() } else { value.to_owned() };
        Self {
            host: or(host, "localhost"),
            port,
            user: or(user, "postgres"),
            password,
            database: or(database, "postgres"),
        }
    }

    /// The libpq variables of the admin connection (as the init script's header documents).
    fn libpq_env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("PGHOST", self.host.clone()),
            ("PGPORT", self.port.to_string()),
            ("PGUSER", self.user.clone()),
            ("PGDATABASE", self.database.clone()),
        ];
        if let Some(password) = &self.password {
            env.push(("PGPASSWORD", password.clone()));
        }
        env
    }

    /// `postgres://role:password@host:port/database`.
    fn url_as(&self, role: &str, password: &str, database: &str) -> String {
        format!("postgres://{role}:{password}@{}:{}/{database}", self.host, self.port)
    }
}

/// A command with nothing of the test's environment but PATH (no PG*, no proxies, no Liaison settings).
fn clean_command(program: &str) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(program);
    command.env_clear().stdin(Stdio::null()).kill_on_drop(true);
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    command
}

/// Runs `command` to its end (within [`COMMAND_TIMEOUT`]); its output whatever the status.
async fn output(what: &str, mut command: tokio::process::Command) -> Output {
    tokio::time::timeout(COMMAND_TIMEOUT, command.output())
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {COMMAND_TIMEOUT:?}"))
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// psql as the admin of the test server, running `sql`; must succeed; its unaligned, tuples-only stdout.
async fn psql_admin(server: &PgServer, sql: &str) -> String {
    let mut command = clean_command("psql");
    command.envs(server.libpq_env()).args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql]);
    let out = output(&format!("psql -c {sql:?}"), command).await;
    assert!(out.status.success(), "psql -c {sql:?} failed ({}):\n{}", out.status, text(&out.stderr));
    text(&out.stdout)
}

/// psql connecting with `url` (a role's own credentials), running `sql`; the output whatever the status.
async fn psql_as(url: &str, sql: &str) -> Output {
    let mut command = clean_command("psql");
    command.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql]);
    output(&format!("psql -d {url} -c {sql:?}"), command).await
}

/// Drops the four service databases (and whatever is connected to them) when the test ends, pass or fail. The
/// roles stay: the init script re-uses them and resets their passwords.
struct DropServiceDatabases(PgServer);

impl Drop for DropServiceDatabases {
    fn drop(&mut self) {
        for service in SERVICES {
            let _ = std::process::Command::new("psql")
                .envs(self.0.libpq_env())
                .args(["-X", "-q", "-c", &format!("DROP DATABASE IF EXISTS liaison_{service} WITH (FORCE)")])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Metrics over plain HTTP/1.1.

/// `GET http://<addr><path>`: the status code and the body (a chunked body is decoded).
async fn http_get(addr: &str, path: &str) -> Result<(u16, String), String> {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.map_err(|e| format!("connect {addr}: {e}"))?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/plain\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.map_err(|e| format!("send to {addr}: {e}"))?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.map_err(|e| format!("read from {addr}: {e}"))?;
        Ok::<_, String>(raw)
    };
    let raw = tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .map_err(|_| format!("GET http://{addr}{path} took more than 5 s"))??;
    let raw = String::from_utf8(raw).map_err(|e| format!("GET http://{addr}{path}: not UTF-8: {e}"))?;
    let (head, body) = raw.split_once("\r\n\r\n").ok_or_else(|| format!("no end of headers in {raw:?}"))?;
    let status = head
        .lines()
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("no status line in {head:?}"))?;
    let chunked = head.lines().any(|line| {
        line.to_ascii_lowercase().replace(' ', "").starts_with("transfer-encoding:")
            && line.to_ascii_lowercase().contains("chunked")
    });
    let body = if chunked { dechunk(body)? } else { body.to_owned() };
    Ok((status, body))
}

fn dechunk(mut body: &str) -> Result<String, String> {
    let mut out = String::new();
    loop {
        let (size, rest) = body.split_once("\r\n").ok_or("truncated chunk size")?;
        let size = usize::from_str_radix(size.split(';').next().unwrap_or(size).trim(), 16)
            .map_err(|e| format!("bad chunk size {size:?}: {e}"))?;
        if size == 0 {
            return Ok(out);
        }
        let chunk = rest.get(..size).ok_or("truncated chunk")?;
        out.push_str(chunk);
        body = rest.get(size..).and_then(|r| r.strip_prefix("\r\n")).ok_or("chunk not followed by CRLF")?;
    }
}

/// Scrapes `http://<addr>/metrics` and parses it as the Prometheus text format.
async fn scrape(addr: &str) -> Result<(prometheus_parse::Scrape, String), String> {
    let (status, body) = http_get(addr, "/metrics").await?;
    if status != 200 {
        return Err(format!("GET http://{addr}/metrics answered {status}:\n{body}"));
    }
    let scrape = prometheus_parse::Scrape::parse(body.lines().map(|line| Ok(line.to_owned())))
        .map_err(|e| format!("http://{addr}/metrics is not the Prometheus text format: {e}\n{body}"))?;
    Ok((scrape, body))
}

fn sample_value(value: &prometheus_parse::Value) -> Option<f64> {
    match value {
        prometheus_parse::Value::Counter(v)
        | prometheus_parse::Value::Gauge(v)
        | prometheus_parse::Value::Untyped(v) => Some(*v),
        _ => None,
    }
}

/// The value of the first sample of `metric` whose labels include all of `labels`.
fn metric_value(scrape: &prometheus_parse::Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(v)))
        .find_map(|s| sample_value(&s.value))
}

/// What contacts' `/metrics` must show after the flow; `Err` names what is missing.
fn check_contacts_metrics(scrape: &prometheus_parse::Scrape) -> Result<(), String> {
    let created = metric_value(
        scrape,
        "liaison_rpc_requests_total",
        &[("service", GRPC_SERVICES[0]), ("method", "CreateContact"), ("code", "0")],
    );
    if !created.is_some_and(|v| v >= 1.0) {
        return Err(format!(
            "liaison_rpc_requests_total{{service=\"{}\",method=\"CreateContact\",code=\"0\"}} ≥ 1, found {created:?}",
            GRPC_SERVICES[0]
        ));
    }
    let histogram = scrape.samples.iter().find(|s| {
        s.metric == "liaison_rpc_duration_seconds"
            && s.labels.get("method") == Some("CreateContact")
            && matches!(&s.value, prometheus_parse::Value::Histogram(buckets) if !buckets.is_empty())
    });
    let Some(histogram) = histogram else {
        return Err("a liaison_rpc_duration_seconds histogram for method=\"CreateContact\" with buckets".into());
    };
    if let prometheus_parse::Value::Histogram(buckets) = &histogram.value {
        let total = buckets.iter().find(|b| b.less_than.is_infinite()).map(|b| b.count);
        if !total.is_some_and(|count| count >= 1.0) {
            return Err(format!("liaison_rpc_duration_seconds{{method=\"CreateContact\"}} le=+Inf ≥ 1: {buckets:?}"));
        }
    }
    if scrape.samples.iter().any(|s| s.labels.values().any(|v| v.contains("MadeUp7f3a"))) {
        return Err("no label carrying the made-up method's name".into());
    }
    if metric_value(scrape, "liaison_rpc_requests_total", &[("service", "unknown"), ("method", "unknown")]).is_none() {
        return Err("liaison_rpc_requests_total{service=\"unknown\",method=\"unknown\"} for the made-up path".into());
    }
    for state in ["idle", "in_use"] {
        if metric_value(scrape, "liaison_db_pool_connections", &[("service", GRPC_SERVICES[0]), ("state", state)])
            .is_none()
        {
            return Err(format!("liaison_db_pool_connections{{service=\"{}\",state=\"{state}\"}}", GRPC_SERVICES[0]));
        }
    }
    Ok(())
}

/// What reporting's `/metrics` must show after the flow.
fn check_reporting_metrics(scrape: &prometheus_parse::Scrape) -> Result<(), String> {
    for source in ["contacts", "scheduling", "mediation"] {
        let applied = metric_value(scrape, "liaison_feed_applied_total", &[("source", source)]);
        if !applied.is_some_and(|v| v >= 1.0) {
            return Err(format!("liaison_feed_applied_total{{source=\"{source}\"}} ≥ 1, found {applied:?}"));
        }
        if metric_value(scrape, "liaison_feed_lag", &[("source", source)]).is_none() {
            return Err(format!("liaison_feed_lag{{source=\"{source}\"}}"));
        }
    }
    if metric_value(scrape, "liaison_db_pool_connections", &[("service", GRPC_SERVICES[3])]).is_none() {
        return Err(format!("liaison_db_pool_connections{{service=\"{}\"}}", GRPC_SERVICES[3]));
    }
    Ok(())
}

/// Scrapes `addr` until `check` passes; panics after [`METRICS_TIMEOUT`] with what is missing and the scrape.
async fn assert_metrics(what: &str, addr: &str, check: fn(&prometheus_parse::Scrape) -> Result<(), String>) {
    let started = Instant::now();
    loop {
        let outcome = scrape(addr).await.and_then(|(scrape, body)| check(&scrape).map_err(|e| format!("{e}\n{body}")));
        match outcome {
            Ok(()) => {
                eprintln!("{what} metrics on http://{addr}/metrics as expected after {:?}", started.elapsed());
                return;
            }
            Err(e) if started.elapsed() >= METRICS_TIMEOUT => {
                panic!("{what}'s /metrics (http://{addr}/metrics) lacks, after {METRICS_TIMEOUT:?}: {e}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Traces.

fn describe_spans(spans: &[ReceivedSpan]) -> String {
    spans
        .iter()
        .map(|s| {
            format!(
                "  {} {:?} kind={} trace={} span={} parent={} links={:?}\n",
                s.service, s.name, s.kind, s.trace_id, s.span_id, s.parent_span_id, s.links
            )
        })
        .collect()
}

const SERVER: i32 = 2;
const CLIENT: i32 = 3;

/// The traces the flow must leave, given each service's `OTEL_SERVICE_NAME` (contacts, scheduling, mediation,
/// reporting); `Err` says what is missing.
fn check_traces(spans: &[ReceivedSpan], names: &[String; 4]) -> Result<String, String> {
    let [contacts, scheduling, _, reporting] = names;
    let create_meeting = spans
        .iter()
        .find(|s| {
            &s.service == scheduling
                && s.name == "liaison.scheduling.v1.SchedulingService/CreateMeeting"
                && s.kind == SERVER
        })
        .ok_or_else(|| {
            format!("no server span of {scheduling} named liaison.scheduling.v1.SchedulingService/CreateMeeting")
        })?;
    let client = spans
        .iter()
        .find(|s| {
            &s.service == scheduling
                && s.kind == CLIENT
                && s.trace_id == create_meeting.trace_id
                && s.parent_span_id == create_meeting.span_id
                && s.name == "contacts.BatchGetContacts"
        })
        .ok_or_else(|| {
            format!(
                "no client span contacts.BatchGetContacts of {scheduling} under CreateMeeting ({})",
                create_meeting.span_id
            )
        })?;
    let batch_get = spans
        .iter()
        .find(|s| {
            &s.service == contacts
                && s.name == "liaison.contacts.v1.ContactsService/BatchGetContacts"
                && s.kind == SERVER
                && s.trace_id == create_meeting.trace_id
                && s.parent_span_id == client.span_id
        })
        .ok_or_else(|| {
            format!(
                "no server span of {contacts} for BatchGetContacts in trace {} whose parent is scheduling's client \
                 span {}",
                create_meeting.trace_id, client.span_id
            )
        })?;
    let create_contact = spans
        .iter()
        .find(|s| {
            &s.service == contacts && s.name == "liaison.contacts.v1.ContactsService/CreateContact" && s.kind == SERVER
        })
        .ok_or_else(|| format!("no server span of {contacts} for CreateContact"))?;
    let link = format!("{}:{}", create_contact.trace_id, create_contact.span_id);
    let ingest = spans
        .iter()
        .find(|s| &s.service == reporting && s.name == "reporting.ingest" && s.links.contains(&link))
        .ok_or_else(|| format!("no reporting.ingest span of {reporting} linking to CreateContact's span {link}"))?;
    Ok(format!(
        "CreateMeeting {} → client {} → contacts BatchGetContacts {} (trace {}); reporting.ingest {} links to \
         CreateContact {link}",
        create_meeting.span_id, client.span_id, batch_get.span_id, create_meeting.trace_id, ingest.span_id
    ))
}

// ---------------------------------------------------------------------------------------------------------------
// The processes.

/// The names of the environment variables process `pid` was started with (Linux: `/proc/<pid>/environ`).
fn process_env_names(pid: u32) -> Option<BTreeSet<String>> {
    let raw = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    Some(
        raw.split(|&b| b == 0)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                let entry = String::from_utf8_lossy(entry);
                entry.split_once('=').map_or(entry.to_string(), |(name, _)| name.to_owned())
            })
            .collect(),
    )
}

/// One machine standing in for the compose project's volumes: each named volume a directory, and each container's
/// filesystem a directory in which every mount target is a symbolic link to its volume (or, for a bind mount, to
/// the workspace's file), so a path the compose file names inside a container has one place here.
struct Volumes {
    root: PathBuf,
}

impl Volumes {
    fn new(root: &Path, services: &[ComposeService]) -> Self {
        let compose_dir = workspace_root().join(COMPOSE_FILE);
        let compose_dir = compose_dir.parent().expect("the compose file is in a directory");
        for service in services {
            for (source, target, _) in &service.volumes {
                let source = if source.starts_with('.') || source.starts_with('/') {
                    compose_dir.join(source)
                } else {
                    let volume = root.join("volumes").join(source);
                    std::fs::create_dir_all(&volume).expect("create a volume directory");
                    volume
                };
                let link = root.join("containers").join(&service.name).join(target.trim_start_matches('/'));
                std::fs::create_dir_all(link.parent().expect("a mount target has a parent")).expect("create a parent");
                std::os::unix::fs::symlink(&source, &link).expect("link a mount target to its volume");
            }
        }
        Self { root: root.to_owned() }
    }

    /// Where `path` of `service`'s container is on this machine; panics unless it is in (or holds) a mount.
    fn path(&self, service: &ComposeService, path: &str) -> String {
        let related = |target: &String| {
            path == target || path.starts_with(&format!("{target}/")) || target.starts_with(&format!("{path}/"))
        };
        assert!(
            service.volumes.iter().any(|(_, target, _)| related(target)),
            "{}: {path} is in no volume of the compose file",
            service.name
        );
        self.root.join("containers").join(&service.name).join(path.trim_start_matches('/')).display().to_string()
    }

    /// `path` if it is absolute (a path in `service`'s container), `value` unchanged otherwise.
    fn arg(&self, service: &ComposeService, value: &str) -> String {
        if value.starts_with('/') { self.path(service, value) } else { value.to_owned() }
    }
}

/// Runs the compose file's `pki` init service here: the binary's own `dev-pki` with its compose arguments (the
/// volume's path remapped). Returns the PKI as the services will read it.
async fn run_compose_pki(document: &serde_yaml::Value, volumes: &Volumes) -> Pki {
    let pki = compose_service(document, "pki");
    let args: Vec<String> = pki.command.iter().map(|arg| volumes.arg(&pki, arg)).collect();
    let mut command = liaison();
    command.args(&args);
    let done = run_to_end("pki (liaison dev-pki)", command, COMMAND_TIMEOUT).await;
    assert!(done.status.success(), "the pki service's {args:?} failed ({}):\n{}", done.status, done.stderr);
    let out = args.iter().skip_while(|arg| *arg != "--out").nth(1).expect("pki runs dev-pki --out DIR");
    let option = |name: &str, default: &str| {
        pki.command.iter().skip_while(|arg| *arg != name).nth(1).cloned().unwrap_or_else(|| default.to_owned())
    };
    Pki {
        dir: PathBuf::from(out),
        issuer: option("--issuer", "liaison-dev"),
        audience: option("--audience", "liaison"),
    }
}

/// The compose environment of every service after interpolation, and the one-machine remapping.
struct Remap<'a> {
    /// Listen port in the compose file → local port, by service name.
    ports: BTreeMap<String, (u16, u16)>,
    metrics: BTreeMap<String, u16>,
    otlp_endpoint: String,
    volumes: &'a Volumes,
}

impl Remap<'_> {
    /// The value a process on this machine gets for `key`, which the compose file sets to `value` for `service`.
    fn value(&self, service: &ComposeService, key: &str, value: &str) -> String {
        let name = service.name.as_str();
        match key {
            "LIAISON_LISTEN_ADDR" => {
                let (host, port) = host_and_port(value).unwrap_or_else(|| panic!("{name}: {key}={value}"));
                assert_eq!(host, "0.0.0.0", "{name}: the compose file listens on all interfaces in the container");
                assert_eq!(port, self.ports[name].0, "{name}: {key}={value}");
                format!("127.0.0.1:{}", self.ports[name].1)
            }
            _ if key.ends_with("_FILE") => self.volumes.path(service, value),
            "LIAISON_METRICS_ADDR" => format!("127.0.0.1:{}", self.metrics[name]),
            "OTEL_EXPORTER_OTLP_ENDPOINT" => {
                assert_eq!(host_and_port(value).map(|(h, _)| h), Some("otel-collector"), "{name}: {key}={value}");
                self.otlp_endpoint.clone()
            }
            _ if key.starts_with("LIAISON_") && key.ends_with("_ADDR") => {
                let (host, port) = host_and_port(value).unwrap_or_else(|| panic!("{name}: {key}={value}"));
                let peer = key.trim_start_matches("LIAISON_").trim_end_matches("_ADDR").to_lowercase();
                assert_eq!(host, peer, "{name}: {key}={value} must name the {peer} service");
                let (compose_port, local) = self.ports.get(host).unwrap_or_else(|| panic!("{name}: {key}={value}"));
                assert_eq!(port, *compose_port, "{name}: {key}={value}, but {host} listens on {compose_port}");
                assert!(value.starts_with("https://"), "{name}: {key}={value} is not https");
                // Its certificate names 127.0.0.1 as well as the host; the IP, unlike `localhost`, has one address.
                format!("https://127.0.0.1:{local}")
            }
            _ => value.to_owned(),
        }
    }
}

/// `liaison <command>` of `service` with exactly `env`.
fn serve_command(service: &ComposeService, env: &BTreeMap<String, String>) -> std::process::Command {
    let mut command = liaison();
    command.env_clear().args(&service.command).envs(env);
    command
}

/// Runs `service`'s compose health check (the binary's own `healthcheck`, over TLS) against `port`; must exit 0.
async fn compose_healthcheck(service: &ComposeService, port: u16, volumes: &Volumes) {
    let test = &service.healthcheck;
    assert_eq!(test.first().map(String::as_str), Some("CMD"), "{}: healthcheck.test {test:?}", service.name);
    assert_eq!(test.get(1).map(String::as_str), Some("liaison"), "{}: healthcheck.test {test:?}", service.name);
    let args: Vec<String> = test[2..]
        .iter()
        .map(|arg| match host_and_port(arg) {
            Some(("localhost" | "127.0.0.1", compose_port)) => {
                arg.replacen(&format!(":{compose_port}"), &format!(":{port}"), 1)
            }
            _ => volumes.arg(service, arg),
        })
        .collect();
    let mut command = liaison();
    command.args(&args);
    let done = run_to_end(&format!("{} healthcheck", service.name), command, COMMAND_TIMEOUT).await;
    assert!(
        done.status.success(),
        "{}: compose health check {args:?} failed ({}):\n{}",
        service.name,
        done.status,
        done.stderr
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Tests.

/// The compose file against the binary and `.env.example`, without running anything but `--help`: every
/// variable a service gets is one the binary reads, every `${VAR:-default}` is documented in `.env.example` with
/// the same default, each service's health check asks for its own gRPC service, and its dependencies start
/// before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_compose_file_speaks_the_binarys_language() {
    let document = compose_document();
    let services = compose_services(&document);
    for (index, service) in services.iter().enumerate() {
        assert_eq!(service.command, ["serve", service.name.as_str()], "{}: command", service.name);
        let mut command = clean_command(&binary().display().to_string());
        command.args(["serve", &service.name, "--help"]);
        let out = output(&format!("liaison serve {} --help", service.name), command).await;
        assert!(out.status.success(), "liaison serve {} --help: {}", service.name, out.status);
        let help = text(&out.stdout);
        for (key, _) in &service.environment {
            assert!(
                READ_OUTSIDE_CLAP.contains(&key.as_str()) || help.contains(&format!("[env: {key}=")),
                "{}: the compose file sets {key}, which `liaison serve {} --help` does not list as read:\n{help}",
                service.name,
                service.name
            );
        }
        let grpc = GRPC_SERVICES[index];
        assert!(
            service.healthcheck.iter().any(|arg| arg == grpc),
            "{}: healthcheck {:?}",
            service.name,
            service.healthcheck
        );
        for dependency in service.depends_on.iter().filter(|d| SERVICES.contains(&d.as_str())) {
            let position = SERVICES.iter().position(|s| s == dependency).unwrap_or(usize::MAX);
            assert!(position < index, "{} depends on {dependency}, which starts after it", service.name);
        }
    }

    let documented = env_example();
    let defaults = defaults_in(&document);
    assert!(!defaults.is_empty(), "{COMPOSE_FILE} has no ${{VAR:-default}}");
    for (name, default) in &defaults {
        assert_eq!(
            documented.get(name),
            Some(default),
            "{COMPOSE_FILE} defaults {name} to {default:?}; {ENV_EXAMPLE} must set the same value"
        );
    }
    eprintln!("{} compose defaults match {ENV_EXAMPLE}", defaults.len());

    // The collector the services export to and that scrapes them: OTLP/gRPC where OTEL_EXPORTER_OTLP_ENDPOINT
    // points, and a scrape target per service at its LIAISON_METRICS_ADDR port.
    let collector: serde_yaml::Value = serde_yaml::from_str(&read_workspace_file(COLLECTOR_CONFIG))
        .unwrap_or_else(|e| panic!("{COLLECTOR_CONFIG}: {e}"));
    let otlp_grpc = collector
        .get("receivers")
        .and_then(|r| r.get("otlp"))
        .and_then(|r| r.get("protocols"))
        .and_then(|p| p.get("grpc"))
        .and_then(|g| g.get("endpoint"))
        .map(|e| scalar(e, "receivers.otlp.protocols.grpc.endpoint"))
        .unwrap_or_else(|| panic!("{COLLECTOR_CONFIG} has no OTLP/gRPC receiver"));
    let targets: BTreeSet<String> = collector
        .get("receivers")
        .and_then(|r| r.get("prometheus"))
        .and_then(|p| p.get("config"))
        .and_then(|c| c.get("scrape_configs"))
        .and_then(serde_yaml::Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(|job| job.get("static_configs").and_then(serde_yaml::Value::as_sequence))
        .flatten()
        .filter_map(|config| config.get("targets"))
        .flat_map(|targets| string_list(targets, "scrape targets"))
        .collect();
    for service in &services {
        let env = |key: &str| {
            service
                .environment
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| panic!("{}: the compose file does not set {key}", service.name))
        };
        let endpoint = env("OTEL_EXPORTER_OTLP_ENDPOINT");
        let (host, port) = host_and_port(&endpoint).unwrap_or_else(|| panic!("{}: {endpoint}", service.name));
        assert_eq!(host, "otel-collector", "{}: OTEL_EXPORTER_OTLP_ENDPOINT={endpoint}", service.name);
        assert_eq!(
            host_and_port(&otlp_grpc).map(|(_, p)| p),
            Some(port),
            "{}: OTEL_EXPORTER_OTLP_ENDPOINT={endpoint}, but the collector takes OTLP/gRPC on {otlp_grpc}",
            service.name
        );
        let metrics = env("LIAISON_METRICS_ADDR");
        let (_, port) = host_and_port(&metrics).unwrap_or_else(|| panic!("{}: {metrics}", service.name));
        let target = format!("{}:{port}", service.name);
        assert!(targets.contains(&target), "{COLLECTOR_CONFIG} does not scrape {target}; it scrapes {targets:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_compose_topology_runs_as_four_processes_on_postgres() {
    // Under CI=true a missing LIAISON_TEST_POSTGRES_URL panics here: a failure, never a silent skip.
    let Some(admin_url) = liaison_testkit::postgres_admin_url() else {
        eprintln!("skipped: LIAISON_TEST_POSTGRES_URL is not set");
        return;
    };
    binary();
    let started = Instant::now();
    let server = PgServer::parse(&admin_url);
    let document = compose_document();
    let services = compose_services(&document);

    // An operator's .env: empty, since every variable has a default and none of them is a secret.
    let dot_env: BTreeMap<String, String> = BTreeMap::new();
    let environments: Vec<Vec<(String, String)>> = services
        .iter()
        .map(|service| {
            service
                .environment
                .iter()
                .map(|(key, raw)| {
                    let (value, referenced) = interpolate(raw, &dot_env);
                    for name in referenced {
                        assert!(
                            raw.contains(&format!("${{{name}:-")),
                            "{}: {key} uses {name} without a default",
                            service.name
                        );
                    }
                    (key.clone(), value)
                })
                .collect()
        })
        .collect();

    // The init services, as compose runs them: `pki` is the binary's own dev-pki; `db-secrets` its script, told
    // to name this machine's PostgreSQL. Their volumes are directories here.
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let volumes = Volumes::new(dir.path(), &all_compose_services(&document));
    let pki = run_compose_pki(&document, &volumes).await;
    let db_secrets = compose_service(&document, "db-secrets");
    let (program, script) = db_secrets.entrypoint.split_first().expect("db-secrets has an entrypoint");
    let mut command = clean_command(program);
    command.args(script.iter().map(|arg| volumes.arg(&db_secrets, arg)));
    for (key, value) in &db_secrets.environment {
        let value = match key.as_str() {
            "LIAISON_DB_HOST" => {
                assert_eq!(host_and_port(value), Some(("postgres", 5432)), "db-secrets: {key}={value}");
                format!("{}:{}", server.host, server.port)
            }
            _ => volumes.arg(&db_secrets, value),
        };
        command.env(key, value);
    }
    let out = output("the db-secrets service", command).await;
    assert!(out.status.success(), "db-secrets failed ({}):\n{}", out.status, text(&out.stderr));

    // PostgreSQL's passwords, as its init script reads them (LIAISON_<SERVICE>_DB_PASSWORD_FILE).
    let postgres = compose_service(&document, "postgres");
    let init_env: Vec<(String, String)> = postgres
        .environment
        .iter()
        .filter(|(key, _)| key.starts_with("LIAISON_"))
        .map(|(key, value)| {
            (key.clone(), if key.ends_with("_FILE") { volumes.path(&postgres, value) } else { value.clone() })
        })
        .collect();
    let passwords: BTreeMap<&str, String> = SERVICES
        .iter()
        .map(|&s| {
            let key = format!("LIAISON_{}_DB_PASSWORD_FILE", s.to_uppercase());
            let file = &init_env.iter().find(|(k, _)| *k == key).unwrap_or_else(|| panic!("postgres lacks {key}")).1;
            let password = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert!(password.trim().len() >= 32, "{key}: a generated password of 32 hex digits, not {password:?}");
            (s, password.trim().to_owned())
        })
        .collect();
    for (service, env) in services.iter().zip(&environments) {
        let file = &env.iter().find(|(k, _)| k == "DATABASE_URL_FILE").expect("DATABASE_URL_FILE is set").1;
        let url = std::fs::read_to_string(volumes.path(service, file)).expect("the database URL file exists");
        let expected = format!(
            "postgres://liaison_{0}:{1}@{2}:{3}/liaison_{0}",
            service.name,
            passwords[service.name.as_str()],
            server.host,
            server.port
        );
        assert_eq!(url.trim(), expected, "{}: the database URL db-secrets wrote", service.name);
    }

    // The databases and roles, made by the real init script on the test server (its maintenance databases left
    // alone: LIAISON_LOCK_MAINTENANCE_DBS=false).
    let _cleanup = DropServiceDatabases(server.clone());
    for service in SERVICES {
        psql_admin(&server, &format!("DROP DATABASE IF EXISTS liaison_{service} WITH (FORCE)")).await;
    }
    let maintenance_acl = "SELECT datname || ' ' || coalesce(datacl::text, 'default') FROM pg_database WHERE datname IN ('postgres', \
         'template1') ORDER BY datname";
    let acl_before = psql_admin(&server, maintenance_acl).await;
    let script = workspace_root().join(INIT_SCRIPT);
    for run in ["first run", "re-run"] {
        let mut command = clean_command("bash");
        command
            .arg(&script)
            .envs(server.libpq_env())
            .envs(init_env.clone())
            .env("LIAISON_LOCK_MAINTENANCE_DBS", "false");
        let out = output(&format!("bash {INIT_SCRIPT}"), command).await;
        let stdout = text(&out.stdout);
        assert!(
            out.status.success(),
            "{INIT_SCRIPT} ({run}) failed ({}):\nstdout:\n{stdout}\nstderr:\n{}",
            out.status,
            text(&out.stderr)
        );
        for service in SERVICES {
            let line = format!("liaison: database liaison_{service} owned by role liaison_{service}");
            assert!(stdout.contains(&line), "{INIT_SCRIPT} ({run}) did not report {line:?}:\n{stdout}");
        }
        assert!(!stdout.contains("CONNECT revoked"), "{INIT_SCRIPT} ({run}) touched the maintenance databases");
    }
    assert_eq!(psql_admin(&server, maintenance_acl).await, acl_before, "the maintenance databases' privileges changed");
    let owners = psql_admin(
        &server,
        "SELECT d.datname || '=' || r.rolname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE d.datname \
         IN ('liaison_contacts', 'liaison_scheduling', 'liaison_mediation', 'liaison_reporting') ORDER BY 1",
    )
    .await;
    let expected_owners: Vec<String> = {
        let mut sorted = SERVICES.to_vec();
        sorted.sort_unstable();
        sorted.iter().map(|s| format!("liaison_{s}=liaison_{s}")).collect()
    };
    assert_eq!(owners.lines().collect::<Vec<_>>(), expected_owners, "each database is owned by its role");
    eprintln!("pki, db-secrets and the init script (twice) ran in {:?}", started.elapsed());

    // The four processes, each with its compose environment: only addresses, ports and the volumes' paths are
    // remapped to this machine. TLS and tokens are on, as in compose.
    let tls = pki.client_tls().unwrap_or_else(|e| panic!("{e}"));
    let receiver = OtlpReceiver::start().await;
    let mut attempt = 0;
    let (mut procs, grpc_ports, metrics_ports) = with_free_ports(async || {
        attempt += 1;
        let ports = free_ports::<8>();
        let grpc_ports: [u16; 4] = std::array::from_fn(|index| ports[index]);
        let metrics_ports: [u16; 4] = std::array::from_fn(|index| ports[4 + index]);
        let remap = Remap {
            ports: services
                .iter()
                .zip(&environments)
                .zip(grpc_ports)
                .map(|((service, env), local)| {
                    let listen = &env.iter().find(|(k, _)| k == "LIAISON_LISTEN_ADDR").expect("LIAISON_LISTEN_ADDR").1;
                    let compose_port = host_and_port(listen).expect("a host:port listen address").1;
                    (service.name.clone(), (compose_port, local))
                })
                .collect(),
            metrics: SERVICES.iter().map(|s| s.to_string()).zip(metrics_ports).collect(),
            otlp_endpoint: receiver.endpoint(),
            volumes: &volumes,
        };
        let mut procs: Vec<Proc> = Vec::new();
        for (index, (service, env)) in services.iter().zip(&environments).enumerate() {
            let local: BTreeMap<String, String> =
                env.iter().map(|(key, value)| (key.clone(), remap.value(service, key, value))).collect();
            let compose_names: BTreeSet<&String> = env.iter().map(|(key, _)| key).collect();
            assert_eq!(local.keys().collect::<BTreeSet<_>>(), compose_names, "{}: variable names", service.name);
            if attempt == 1 {
                let changed: Vec<&str> = env.iter().filter(|(k, v)| &local[k] != v).map(|(k, _)| k.as_str()).collect();
                eprintln!("{}: {} compose variables, remapped {changed:?}", service.name, env.len());
            }
            let command = serve_command(service, &local);
            let proc =
                serving_over(&service.name, command, grpc_ports[index], GRPC_SERVICES[index], Some(&tls)).await?;
            // Read once the binary runs (right after spawn it may not have exec'd yet).
            if let Some(names) = process_env_names(proc.pid()) {
                let names: BTreeSet<&String> = names.iter().collect();
                assert_eq!(
                    names, compose_names,
                    "{}: the process's environment is exactly the compose file's",
                    service.name
                );
            }
            procs.push(proc);
            compose_healthcheck(service, grpc_ports[index], &volumes).await;
        }
        Ok((procs, grpc_ports, metrics_ports))
    })
    .await;
    assert_eq!(procs.len(), 4, "the four services started");
    eprintln!("compose topology on {grpc_ports:?} (metrics {metrics_ports:?}) ready in {:?}", started.elapsed());
    assert_all_serving_over(grpc_ports, Some(&tls)).await;

    // The flow, over TLS with an officer's token from the PKI's signing key; the services call each other with
    // their own service tokens.
    let token = pki.token(binary(), "officer", "e2e-officer").unwrap_or_else(|e| panic!("{e}"));
    cross_service_flow_with(&Access::secured(grpc_ports, &tls, &token)).await;
    let anonymous = Access { bearer: Bearer::default(), ..Access::secured(grpc_ports, &tls, &token) };
    let status = ContactsServiceClient::new(anonymous.channel(ServiceKind::Contacts))
        .get_contact(GetContactRequest { name: "contacts/00000000-0000-7000-8000-000000000000".into() })
        .err()
        .await;
    assert_eq!(status.code(), tonic::Code::Unauthenticated, "a call without a token: {status:?}");
    let plaintext = Access::plaintext(grpc_ports);
    let status = ContactsServiceClient::new(plaintext.channel(ServiceKind::Contacts))
        .get_contact(GetContactRequest { name: "contacts/00000000-0000-7000-8000-000000000000".into() })
        .err()
        .await;
    assert_ne!(status.code(), tonic::Code::NotFound, "a plaintext call reached the service: {status:?}");

    // Isolation: each role reaches its own database, and no other service's.
    for (service, password) in &passwords {
        let role = format!("liaison_{service}");
        let own = psql_as(
            &server.url_as(&role, password, &role),
            "SELECT current_user || ' ' || (SELECT count(*) FROM pg_tables WHERE schemaname = 'public') || ' ' || \
             (SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner <> current_user)",
        )
        .await;
        let stdout = text(&own.stdout);
        assert!(own.status.success(), "{role} cannot use its own database: {}", text(&own.stderr));
        let fields: Vec<&str> = stdout.split_whitespace().collect();
        assert_eq!(fields.first(), Some(&role.as_str()), "{role} on its database: {stdout}");
        assert!(
            fields.get(1).and_then(|n| n.parse::<u32>().ok()).is_some_and(|n| n > 0),
            "{role} has tables: {stdout}"
        );
        assert_eq!(fields.get(2), Some(&"0"), "every table of {role}'s database is owned by {role}: {stdout}");
        for other in SERVICES.iter().filter(|other| *other != service) {
            let database = format!("liaison_{other}");
            let refused = psql_as(&server.url_as(&role, password, &database), "SELECT 1").await;
            let stderr = text(&refused.stderr);
            assert!(!refused.status.success(), "{role} connected to {database}");
            assert!(
                stderr.contains("permission denied") || stderr.contains("privilege"),
                "{role} → {database} failed, but not for lack of privilege:\n{stderr}"
            );
        }
    }
    eprintln!("each role reaches its own database only");

    // Metrics, while the processes run. A made-up path is counted under `unknown`, never under its own text
    // (which a caller could vary forever, minting a series each time).
    let mut grpc = tonic::client::Grpc::new(Access::secured(grpc_ports, &tls, &token).channel(ServiceKind::Contacts));
    grpc.ready().await.expect("ready");
    let codec = tonic_prost::ProstCodec::<GetContactRequest, Contact>::default();
    let made_up =
        tonic::codegen::http::uri::PathAndQuery::from_static("/liaison.contacts.v1.ContactsService/MadeUp7f3a");
    grpc.unary(tonic::Request::new(GetContactRequest::default()), made_up, codec).await.expect_err("no such method");
    assert_metrics("contacts", &format!("127.0.0.1:{}", metrics_ports[0]), check_contacts_metrics).await;
    assert_metrics("reporting", &format!("127.0.0.1:{}", metrics_ports[3]), check_reporting_metrics).await;
    for (service, port) in SERVICES.iter().zip(metrics_ports) {
        let (scrape, body) = scrape(&format!("127.0.0.1:{port}")).await.unwrap_or_else(|e| panic!("{service}: {e}"));
        assert!(
            scrape.samples.iter().any(|s| s.metric == "liaison_rpc_requests_total"),
            "{service}'s /metrics has no liaison_rpc_requests_total:\n{body}"
        );
    }

    // Stop (dependants first): each must exit 0 on SIGTERM, flushing its spans on the way out.
    for proc in procs.iter_mut().rev() {
        proc.stop_gracefully().await;
    }

    let names: [String; 4] = std::array::from_fn(|index| {
        environments[index]
            .iter()
            .find(|(k, _)| k == "OTEL_SERVICE_NAME")
            .map_or_else(|| format!("liaison-{}", SERVICES[index]), |(_, v)| v.clone())
    });
    let deadline = Instant::now() + SPANS_TIMEOUT;
    let summary = loop {
        let spans = receiver.spans();
        match check_traces(&spans, &names) {
            Ok(summary) => break summary,
            Err(e) if Instant::now() >= deadline => {
                panic!("traces: {e}; {} spans received:\n{}", spans.len(), describe_spans(&spans))
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    let spans = receiver.spans();
    let strangers: BTreeSet<&str> =
        spans.iter().map(|s| s.service.as_str()).filter(|s| !names.iter().any(|n| n == s)).collect();
    assert!(strangers.is_empty(), "spans from services not named by OTEL_SERVICE_NAME: {strangers:?}");
    eprintln!("traces: {summary} ({} spans)", spans.len());
    eprintln!("compose topology test took {:?}", started.elapsed());
}

/// A `traceparent` of our own, unlike any other run's.
fn traceparent() -> (String, String) {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos());
    let low = nanos as u64 ^ u64::from(std::process::id()).rotate_left(40);
    let trace_id = format!("{:016x}{:016x}", low.rotate_left(29) ^ 0x9e37_79b9_7f4a_7c15, low | 1);
    let span_id = format!("{:016x}", low.rotate_left(17) ^ 0xc2b2_ae3d_27d4_eb4f | 1);
    (trace_id, span_id)
}

fn is_hex(value: &str, len: usize) -> bool {
    value.len() == len && value.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `serve contacts` on SQLite with JSON logs at debug level, plus `extra` environment.
async fn contacts_with_json_logs(dir: &tempfile::TempDir, extra: &[(&str, String)]) -> (Proc, u16) {
    let database = format!("sqlite://{}", dir.path().join("contacts.db").display());
    with_free_ports(async || {
        let port = free_port();
        let mut command = liaison();
        command
            .args(["serve", "contacts"])
            .env("LIAISON_LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("DATABASE_URL", &database)
            .env("LIAISON_LOG_FORMAT", "json")
            .env("RUST_LOG", "debug,h2=info,tower=info,hyper=info,sqlx=warn");
        for (key, value) in extra {
            command.env(key, value);
        }
        Ok((serving("contacts", command, port, GRPC_SERVICES[0]).await?, port))
    })
    .await
}

/// CreateContact sent with `traceparent` `00-<trace_id>-<span_id>-01`, then GetContact of a contact that does
/// not exist with the same traceparent (NOT_FOUND).
async fn create_contact_in_trace(port: u16, trace_id: &str, span_id: &str) {
    let mut client = ContactsServiceClient::connect(url(port)).await.expect("connect a client to contacts");
    let header: tonic::metadata::MetadataValue<_> =
        format!("00-{trace_id}-{span_id}-01").parse().expect("a traceparent is valid metadata");
    let mut request = tonic::Request::new(CreateContactRequest {
        contact: Some(Contact { display_name: "Traced Person".into(), ..Default::default() }),
        request_id: String::new(),
    });
    request.metadata_mut().insert("traceparent", header.clone());
    client.create_contact(request).await.expect("CreateContact with a traceparent");
    let mut request =
        tonic::Request::new(GetContactRequest { name: "contacts/00000000-0000-7000-8000-000000000000".into() });
    request.metadata_mut().insert("traceparent", header);
    let status = client.get_contact(request).await.expect_err("GetContact of a missing contact fails");
    assert_eq!(status.code(), tonic::Code::NotFound, "GetContact of a missing contact: {status:?}");
}

/// One `rpc finished` event, as logged.
#[derive(Debug)]
struct RpcFinished {
    method: String,
    code: i64,
    trace_id: String,
    span_id: String,
}

/// Parses every non-empty stderr line as a JSON object (panicking on any other) and returns the `rpc finished`
/// events that carry a span with `trace_id`.
fn rpc_finished_events(stderr: &str) -> (usize, Vec<RpcFinished>) {
    let mut lines = 0;
    let mut events = Vec::new();
    for line in stderr.lines().filter(|line| !line.trim().is_empty()) {
        lines += 1;
        let event: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("a stderr line is not JSON ({e}): {line}"));
        assert!(event.is_object(), "a stderr line is JSON but not an object: {line}");
        if event.pointer("/fields/message").and_then(serde_json::Value::as_str) != Some("rpc finished") {
            continue;
        }
        let spans = event.get("spans").and_then(serde_json::Value::as_array);
        let rpc = spans.and_then(|spans| spans.iter().find(|span| span.get("trace_id").is_some()));
        let rpc = rpc.unwrap_or_else(|| panic!("an `rpc finished` event without a span carrying trace_id: {line}"));
        let field = |name: &str| rpc.get(name).and_then(serde_json::Value::as_str).unwrap_or_default().to_owned();
        events.push(RpcFinished {
            method: field("rpc.method"),
            code: event.pointer("/fields/code").and_then(serde_json::Value::as_i64).unwrap_or(-1),
            trace_id: field("trace_id"),
            span_id: field("span_id"),
        });
    }
    (lines, events)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_trace_and_span_ids() {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let (mut proc, port) = contacts_with_json_logs(&dir, &[]).await;
    let (trace_id, span_id) = traceparent();
    create_contact_in_trace(port, &trace_id, &span_id).await;
    proc.stop_gracefully().await;

    let raw = proc.raw_stderr();
    assert!(!raw.contains('\u{1b}'), "JSON logs carry ANSI escape codes");
    let (lines, events) = rpc_finished_events(&raw);
    let ours: Vec<&RpcFinished> = events.iter().filter(|e| e.trace_id == trace_id).collect();
    let create = ours
        .iter()
        .find(|e| e.method == "CreateContact")
        .unwrap_or_else(|| panic!("no `rpc finished` event of CreateContact in trace {trace_id}: {events:?}\n{raw}"));
    assert_eq!(create.code, 0, "CreateContact finished OK: {create:?}");
    assert!(is_hex(&create.span_id, 16), "the rpc span's span_id is 16 hex digits: {create:?}");
    assert_ne!(create.span_id, span_id, "the server's span is its own, not the caller's");
    let missing = ours
        .iter()
        .find(|e| e.method == "GetContact")
        .unwrap_or_else(|| panic!("no `rpc finished` event of GetContact in trace {trace_id}: {events:?}"));
    assert_eq!(missing.code, tonic::Code::NotFound as i64, "GetContact of a missing contact: {missing:?}");
    assert_ne!(missing.span_id, create.span_id, "each RPC has a span of its own");
    // Health checks carry no traceparent: each one starts a trace of its own.
    assert!(
        events.iter().any(|e| e.trace_id != trace_id && is_hex(&e.trace_id, 32)),
        "the health checks' RPCs are logged in traces of their own: {events:?}"
    );
    eprintln!("{lines} JSON lines, {} rpc events; json log test took {:?}", events.len(), started.elapsed());
}

/// With traces exported, the ids in the logs are those of the exported spans: a log line leads to its trace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_log_ids_are_the_exported_span_ids() {
    let started = Instant::now();
    let receiver = OtlpReceiver::start().await;
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let extra = [("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint()), ("OTEL_SERVICE_NAME", "e2e-contacts".into())];
    let (mut proc, port) = contacts_with_json_logs(&dir, &extra).await;
    let (trace_id, span_id) = traceparent();
    create_contact_in_trace(port, &trace_id, &span_id).await;
    proc.stop_gracefully().await;

    let (_, events) = rpc_finished_events(&proc.raw_stderr());
    let logged = events
        .iter()
        .find(|e| e.trace_id == trace_id && e.method == "CreateContact")
        .unwrap_or_else(|| panic!("no `rpc finished` event of CreateContact in trace {trace_id}: {events:?}"));
    let deadline = Instant::now() + SPANS_TIMEOUT;
    let exported = loop {
        let spans = receiver.spans();
        if let Some(span) = spans.iter().find(|s| {
            s.trace_id == trace_id && s.name == "liaison.contacts.v1.ContactsService/CreateContact" && s.kind == SERVER
        }) {
            break span.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no CreateContact server span in trace {trace_id} reached the receiver:\n{}",
            describe_spans(&spans)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(exported.service, "e2e-contacts", "OTEL_SERVICE_NAME names the exported spans' service");
    assert_eq!(exported.parent_span_id, span_id, "the server span is a child of the caller's span");
    assert_eq!(logged.span_id, exported.span_id, "the log's span_id is the exported span's");
    eprintln!("log ↔ span ids agree; test took {:?}", started.elapsed());
}

/// The compose file listens on 0.0.0.0 with no insecure switch: the binary serves there because tokens and TLS are
/// configured (contacts' compose security, on the PKI of the compose `pki` service), and refuses the same address
/// once TLS is taken away.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_loopback_listen_address_needs_tls_and_tokens() {
    let document = compose_document();
    let contacts = compose_services(&document).remove(0);
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let volumes = Volumes::new(dir.path(), &all_compose_services(&document));
    let pki = run_compose_pki(&document, &volumes).await;
    let compose: BTreeMap<String, String> = contacts.environment.iter().cloned().collect();
    let database_file = volumes.path(&contacts, &compose["DATABASE_URL_FILE"]);
    let database = format!("sqlite://{}", dir.path().join("contacts.db").display());
    std::fs::write(&database_file, &database).expect("write the database URL file");
    let security: Vec<(String, String)> = compose
        .iter()
        .filter(|(key, _)| key.ends_with("_FILE") || key.starts_with("LIAISON_AUTH_"))
        .map(|(key, value)| {
            (key.clone(), if key.ends_with("_FILE") { volumes.path(&contacts, value) } else { value.clone() })
        })
        .collect();
    assert_eq!(compose["LIAISON_LISTEN_ADDR"], "0.0.0.0:50051", "contacts listens on all interfaces in compose");

    let port = free_port();
    let mut command = liaison();
    command.args(["serve", "contacts"]).env("LIAISON_LISTEN_ADDR", format!("0.0.0.0:{port}"));
    command.envs(security.iter().filter(|(key, _)| !key.starts_with("LIAISON_TLS_")).cloned());
    let refused = run_to_end("0.0.0.0 without TLS", command, COMMAND_TIMEOUT).await;
    assert!(!refused.status.success(), "0.0.0.0 with tokens but without TLS must be refused:\n{}", refused.stderr);
    let last = refused.stderr.lines().rfind(|l| !l.trim().is_empty()).unwrap_or_default();
    assert!(last.starts_with("liaison: ") && last.contains("0.0.0.0"), "{last}");

    let tls = pki.client_tls().unwrap_or_else(|e| panic!("{e}"));
    let mut proc = with_free_ports(async || {
        let port = free_port();
        let mut command = liaison();
        command.args(["serve", "contacts"]).env("LIAISON_LISTEN_ADDR", format!("0.0.0.0:{port}"));
        command.envs(security.iter().cloned());
        serving_over("contacts on 0.0.0.0", command, port, GRPC_SERVICES[0], Some(&tls)).await
    })
    .await;
    proc.stop_gracefully().await;
}

/// The testkit's secured topology ([`Cluster::start_secured`]) runs as a deployment does: the flow passes over
/// TLS with an officer's token, a call without a token is UNAUTHENTICATED, a viewer may not create, and a
/// plaintext client gets nowhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secured_cluster_needs_tls_and_a_token() {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let urls: [String; 4] = SERVICES.map(|s| format!("sqlite://{}", dir.path().join(format!("{s}.db")).display()));
    let mut secured = Cluster::start_secured(&urls).await;
    let ports = secured.cluster.ports;
    assert_all_serving_over(ports, Some(&secured.client_tls())).await;
    cross_service_flow_with(&secured.access("officer", "e2e-officer")).await;

    let missing = || GetContactRequest { name: "contacts/00000000-0000-7000-8000-000000000000".into() };
    let status = ContactsServiceClient::new(secured.channel(ServiceKind::Contacts)).get_contact(missing()).err().await;
    assert_eq!(status.code(), tonic::Code::Unauthenticated, "no token: {status:?}");
    let viewer = secured.access("viewer", "e2e-viewer");
    let mut contacts = ContactsServiceClient::new(viewer.channel(ServiceKind::Contacts));
    let status = contacts.get_contact(missing()).err().await;
    assert_eq!(status.code(), tonic::Code::NotFound, "a viewer may read: {status:?}");
    let status = contacts
        .create_contact(CreateContactRequest {
            contact: Some(Contact { display_name: "Not Allowed".into(), ..Default::default() }),
            request_id: String::new(),
        })
        .err()
        .await;
    assert_eq!(status.code(), tonic::Code::PermissionDenied, "a viewer may not create: {status:?}");
    let plaintext = Access::plaintext(ports);
    let status =
        ContactsServiceClient::new(plaintext.channel(ServiceKind::Contacts)).get_contact(missing()).err().await;
    assert_ne!(status.code(), tonic::Code::NotFound, "a plaintext call reached the service: {status:?}");
    secured.stop_gracefully().await;
}

/// Secrets only from files, TLS and tokens everywhere, nothing insecure: in the compose file (every service, the
/// init services and PostgreSQL included), the Kubernetes manifests (every container, the shared ConfigMap) and
/// the Dockerfile.
#[test]
fn secrets_are_read_only_files_and_nothing_runs_insecure() {
    let mut drift = compose_secret_drift(&compose_document());
    drift.extend(k8s_secret_drift(&k8s_manifests()));
    drift.extend(dockerfile_drift());
    assert!(drift.is_empty(), "deploy/ breaks the security rules:\n{}", drift.join("\n"));
}

/// The checks above can fail: fed documents changed in memory, they name the service and what is wrong.
#[test]
fn the_secret_checks_name_what_drifted() {
    let pristine = compose_document();
    let mutate = |change: &dyn Fn(&mut serde_yaml::Value)| {
        let mut document = pristine.clone();
        change(&mut document);
        compose_secret_drift(&document)
    };
    let environment = |document: &mut serde_yaml::Value, service: &str| -> serde_yaml::Mapping {
        document["services"][service]["environment"].as_mapping().expect("a mapping").clone()
    };
    let set = |service: &'static str, key: &'static str, value: &'static str| {
        move |document: &mut serde_yaml::Value| {
            let mut env = environment(document, service);
            env.insert(key.into(), value.into());
            document["services"][service]["environment"] = serde_yaml::Value::Mapping(env);
        }
    };
    let insecure = mutate(&set("reporting", "LIAISON_INSECURE", "true"));
    assert_eq!(insecure.len(), 1, "{insecure:?}");
    assert!(insecure[0].contains("reporting") && insecure[0].contains("LIAISON_INSECURE"), "{insecure:?}");
    let password = mutate(&set("postgres", "POSTGRES_PASSWORD", "postgres"));
    assert_eq!(password.len(), 1, "{password:?}");
    assert!(password[0].contains("postgres") && password[0].contains("POSTGRES_PASSWORD_FILE"), "{password:?}");
    let url = mutate(&set("scheduling", "LIAISON_EXTRA_URL", "postgres://u:hunter2@postgres:5432/db"));
    assert_eq!(url.len(), 1, "{url:?}");
    assert!(url[0].contains("scheduling") && url[0].contains("LIAISON_EXTRA_URL"), "{url:?}");
    let outside = mutate(&set("contacts", "LIAISON_TLS_KEY_FILE", "/etc/contacts-key.pem"));
    assert_eq!(outside.len(), 1, "{outside:?}");
    assert!(outside[0].contains("contacts") && outside[0].contains("in no mounted volume"), "{outside:?}");
    let writable = mutate(&|document| {
        let volumes = document["services"]["mediation"]["volumes"].as_sequence_mut().expect("a list");
        for volume in volumes.iter_mut() {
            if volume.as_str() == Some("pki:/pki:ro") {
                *volume = "pki:/pki".into();
            }
        }
    });
    assert!(!writable.is_empty() && writable.iter().all(|l| l.contains("mediation")), "{writable:?}");
    assert!(writable.iter().any(|l| l.contains("read-write")), "{writable:?}");
    let untokened = mutate(&|document| {
        let mut env = environment(document, "mediation");
        env.remove("LIAISON_SERVICE_TOKEN_FILE").expect("mediation has a service token");
        document["services"]["mediation"]["environment"] = serde_yaml::Value::Mapping(env);
    });
    assert_eq!(untokened.len(), 1, "{untokened:?}");
    assert!(untokened[0].contains("mediation") && untokened[0].contains("LIAISON_SERVICE_TOKEN_FILE"), "{untokened:?}");

    let mut manifests = k8s_manifests();
    let containers =
        manifests.deployments[0]["spec"]["template"]["spec"]["containers"].as_sequence_mut().expect("containers");
    containers[0]["env"]
        .as_sequence_mut()
        .expect("env")
        .push(serde_yaml::from_str("{name: DATABASE_URL, valueFrom: {secretKeyRef: {name: x, key: y}}}").expect("env"));
    let mounts = containers[0]["volumeMounts"].as_sequence_mut().expect("volumeMounts");
    for mount in mounts.iter_mut() {
        if mount.get("name").and_then(serde_yaml::Value::as_str) == Some("credentials") {
            mount.as_mapping_mut().expect("a mapping").remove("readOnly");
        }
    }
    let drift = k8s_secret_drift(&manifests);
    assert!(drift.iter().any(|l| l.contains("contacts") && l.contains("from a Secret into a variable")), "{drift:?}");
    assert!(drift.iter().any(|l| l.contains("DATABASE_URL_FILE")), "{drift:?}");
    assert!(drift.iter().any(|l| l.contains("LIAISON_TLS_KEY_FILE") && l.contains("read-write")), "{drift:?}");
    let mut insecure = k8s_manifests();
    let data = insecure.configmap["data"].as_mapping_mut().expect("data");
    data.insert("LIAISON_INSECURE".into(), "true".into());
    let drift = k8s_secret_drift(&insecure);
    assert_eq!(drift.len(), 1, "{drift:?}");
    assert!(drift[0].contains(K8S_CONFIGMAP) && drift[0].contains("LIAISON_INSECURE"), "{drift:?}");
}

/// Who calls whom is declared once, by `ServiceKind::dependencies()`: in the compose file each service is told
/// the address of exactly the services it calls (under the variable names the binary reads), and waits for exactly
/// those to be healthy.
#[test]
fn the_compose_file_wires_exactly_the_declared_dependencies() {
    let main = read_workspace_file(BINARY_MAIN);
    for peer in ServiceKind::ALL.into_iter().filter(|kind| !kind.dependants().is_empty()) {
        let variable = address_variable(peer);
        assert!(main.contains(&format!("env = \"{variable}\"")), "{BINARY_MAIN} reads no {variable} (clap env)");
    }
    let drift = compose_call_drift(&compose_document());
    assert!(drift.is_empty(), "{COMPOSE_FILE} disagrees with ServiceKind::dependencies():\n{}", drift.join("\n"));
}

/// The Kubernetes manifests follow `ServiceKind::dependencies()`: each Deployment is given the addresses of exactly
/// the services it calls; each service's port accepts only the services that call it (and, deliberately, pods
/// labelled `liaison-api-client: "true"`); each service reaches only the services it calls (plus DNS, PostgreSQL
/// and OTLP).
#[test]
fn the_kubernetes_manifests_allow_exactly_the_declared_calls() {
    let manifests = k8s_manifests();
    let mut drift = k8s_environment_drift(&manifests);
    drift.extend(network_policy_drift(&manifests));
    assert!(drift.is_empty(), "deploy/k8s disagrees with ServiceKind::dependencies():\n{}", drift.join("\n"));
}

/// The two checks above can fail: fed documents changed in memory, they name the service and what drifted.
#[test]
fn the_call_graph_checks_name_what_drifted() {
    let pristine = compose_document();
    let mutate = |change: &dyn Fn(&mut serde_yaml::Value)| {
        let mut document = pristine.clone();
        change(&mut document);
        compose_call_drift(&document)
    };
    let removed = mutate(&|document| {
        let environment = document["services"]["mediation"]["environment"].as_mapping_mut().expect("a mapping");
        environment.remove("LIAISON_SCHEDULING_ADDR").expect("mediation is told where scheduling is");
    });
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert!(removed[0].contains("mediation") && removed[0].contains("LIAISON_SCHEDULING_ADDR"), "{removed:?}");
    let added = mutate(&|document| {
        let environment = document["services"]["scheduling"]["environment"].as_mapping_mut().expect("a mapping");
        environment.insert("LIAISON_MEDIATION_ADDR".into(), "https://mediation:50053".into());
    });
    assert_eq!(added.len(), 1, "{added:?}");
    assert!(added[0].contains("scheduling") && added[0].contains("LIAISON_MEDIATION_ADDR"), "{added:?}");
    let wrong = mutate(&|document| {
        let environment = document["services"]["reporting"]["environment"].as_mapping_mut().expect("a mapping");
        environment.insert("LIAISON_CONTACTS_ADDR".into(), "https://scheduling:50051".into());
    });
    assert_eq!(wrong.len(), 1, "{wrong:?}");
    assert!(wrong[0].contains("reporting") && wrong[0].contains("https://contacts:50051"), "{wrong:?}");
    let plaintext = mutate(&|document| {
        let environment = document["services"]["mediation"]["environment"].as_mapping_mut().expect("a mapping");
        environment.insert("LIAISON_CONTACTS_ADDR".into(), "http://contacts:50051".into());
    });
    assert_eq!(plaintext.len(), 1, "a plaintext peer address is drift: {plaintext:?}");
    let unordered = mutate(&|document| {
        let depends_on = document["services"]["mediation"]["depends_on"].as_mapping_mut().expect("a mapping");
        depends_on.remove("scheduling").expect("mediation waits for scheduling");
    });
    assert_eq!(unordered.len(), 1, "{unordered:?}");
    assert!(unordered[0].contains("mediation.depends_on") && unordered[0].contains("scheduling"), "{unordered:?}");

    let policy = |manifests: &K8sManifests, name: &str| -> usize {
        manifests
            .network_policies
            .iter()
            .position(|p| yaml_at(p, &["metadata", "name"]).and_then(serde_yaml::Value::as_str) == Some(name))
            .unwrap_or_else(|| panic!("{NETWORK_POLICIES} has no policy {name}"))
    };
    let selector = |name: &str| -> serde_yaml::Value {
        serde_yaml::from_str(&format!(
            "podSelector: {{matchLabels: {{app.kubernetes.io/name: {name}, app.kubernetes.io/part-of: liaison}}}}"
        ))
        .expect("a peer")
    };

    let mut cut = k8s_manifests();
    let index = policy(&cut, "mediation-egress");
    let rules = cut.network_policies[index]["spec"]["egress"].as_sequence_mut().expect("egress rules");
    rules.retain(|rule| !format!("{rule:?}").contains("scheduling"));
    let drift = network_policy_drift(&cut);
    assert_eq!(drift.len(), 1, "{drift:?}");
    assert!(drift[0].contains("egress of mediation to scheduling on TCP/50052 is not allowed"), "{drift:?}");

    let mut opened = k8s_manifests();
    let index = policy(&opened, "reporting-ingress");
    let from = opened.network_policies[index]["spec"]["ingress"][0]["from"].as_sequence_mut().expect("from");
    from.push(selector("contacts"));
    let drift = network_policy_drift(&opened);
    assert_eq!(drift.len(), 1, "{drift:?}");
    assert!(drift[0].contains("ingress to reporting from contacts on TCP/50054 is allowed"), "{drift:?}");

    let mut closed = k8s_manifests();
    let index = policy(&closed, "contacts-ingress");
    let from = closed.network_policies[index]["spec"]["ingress"][0]["from"].as_sequence_mut().expect("from");
    from.retain(|peer| !format!("{peer:?}").contains("liaison-api-client"));
    let drift = network_policy_drift(&closed);
    assert_eq!(drift.len(), 1, "{drift:?}");
    assert!(drift[0].contains("ingress to contacts from pods labelled liaison-api-client=true"), "{drift:?}");

    let mut anything = k8s_manifests();
    let index = policy(&anything, "scheduling-egress");
    anything.network_policies[index]["spec"]["egress"]
        .as_sequence_mut()
        .expect("egress rules")
        .push(serde_yaml::from_str("ports: [{protocol: TCP, port: 50053}]").expect("a rule"));
    let drift = network_policy_drift(&anything);
    assert_eq!(drift.len(), 1, "{drift:?}");
    assert!(drift[0].contains("egress of scheduling to anywhere on TCP/50053 is allowed"), "{drift:?}");

    let mut unset = k8s_manifests();
    let containers = unset.deployments[1]["spec"]["template"]["spec"]["containers"].as_sequence_mut().expect("list");
    let env = containers[0]["env"].as_sequence_mut().expect("env");
    env.retain(|entry| entry.get("name").and_then(serde_yaml::Value::as_str) != Some("LIAISON_CONTACTS_ADDR"));
    let drift = k8s_environment_drift(&unset);
    assert_eq!(drift.len(), 1, "{drift:?}");
    assert!(drift[0].contains("scheduling") && drift[0].contains("LIAISON_CONTACTS_ADDR"), "{drift:?}");
}
