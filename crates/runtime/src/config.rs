//! The services of the cluster and what each needs to start.
use crate::db::DatabaseUrl;
use crate::net::client::CallSettings;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::str::FromStr;

/// One of the four services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceKind {
    Contacts,
    Scheduling,
    Mediation,
    Reporting,
}

impl ServiceKind {
    pub const ALL: [ServiceKind; 4] = [Self::Contacts, Self::Scheduling, Self::Mediation, Self::Reporting];

    pub fn name(self) -> &'static str {
        match self {
            Self::Contacts => "contacts",
            Self::Scheduling => "scheduling",
            Self::Mediation => "mediation",
            Self::Reporting => "reporting",
        }
    }

    /// The fully-qualified gRPC service name (also its health-check name).
    pub fn grpc_service(self) -> &'static str {
        match self {
            Self::Contacts => "liaison.contacts.v1.ContactsService",
            Self::Scheduling => "liaison.scheduling.v1.SchedulingService",
            Self::Mediation => "liaison.mediation.v1.MediationService",
            Self::Reporting => "liaison.reporting.v1.ReportingService",
        }
    }

    pub fn default_port(self) -> u16 {
        match self {
            Self::Contacts => 50051,
            Self::Scheduling => 50052,
            Self::Mediation => 50053,
            Self::Reporting => 50054,
        }
    }

    /// `127.0.0.1:<default port>`.
    pub fn default_listen(self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.default_port()))
    }

    /// The services this one calls: the one declaration of who calls whom. `service::start` requires their
    /// addresses, and the deploy files (the compose environment and `depends_on`, the Kubernetes Deployments'
    /// environment and NetworkPolicies) are tested against it (`tests/tests/deployment.rs`). Reporting calls each
    /// source's `liaison.common.v1.ChangeFeedService`; mediation calls scheduling (mediation sessions are meetings).
    pub const fn dependencies(self) -> &'static [ServiceKind] {
        match self {
            Self::Contacts => &[],
            Self::Scheduling => &[Self::Contacts],
            Self::Mediation => &[Self::Contacts, Self::Scheduling],
            Self::Reporting => &[Self::Contacts, Self::Scheduling, Self::Mediation],
        }
    }

    /// The services that call this one (the reverse of [`ServiceKind::dependencies`]), in [`ServiceKind::ALL`]
    /// order.
    pub fn dependants(self) -> Vec<ServiceKind> {
        Self::ALL.into_iter().filter(|caller| caller.dependencies().contains(&self)).collect()
    }
}

impl fmt::Display for ServiceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ServiceKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| format!("unknown service '{s}': expected one of contacts, scheduling, mediation, reporting"))
    }
}

/// Addresses (URLs such as `http://contacts:50051`) of the services a service calls.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Peers {
    pub contacts: Option<String>,
    pub scheduling: Option<String>,
    pub mediation: Option<String>,
}

impl Peers {
    pub fn get(&self, kind: ServiceKind) -> Option<&str> {
        match kind {
            ServiceKind::Contacts => self.contacts.as_deref(),
            ServiceKind::Scheduling => self.scheduling.as_deref(),
            ServiceKind::Mediation => self.mediation.as_deref(),
            ServiceKind::Reporting => None,
        }
    }
}

/// Everything one service needs to start.
#[derive(Debug, Clone)]
pub struct ServiceSettings {
    pub listen: SocketAddr,
    pub database_url: DatabaseUrl,
    pub peers: Peers,
    pub calls: CallSettings,
    /// Tokens, roles, TLS and credentials, shared by the services of one process.
    pub security: std::sync::Arc<crate::security::Security>,
    /// What one caller, connection or call may cost the server.
    pub limits: crate::net::limits::Limits,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_names_parse_and_unknown_ones_are_explained() {
        assert_eq!("mediation".parse::<ServiceKind>(), Ok(ServiceKind::Mediation));
        let err = "billing".parse::<ServiceKind>().expect_err("unknown");
        assert!(err.contains("billing") && err.contains("contacts"));
    }

    #[test]
    fn every_service_calls_only_services_that_start_before_it() {
        for (index, kind) in ServiceKind::ALL.into_iter().enumerate() {
            for dependency in kind.dependencies() {
                let position = ServiceKind::ALL.iter().position(|k| k == dependency);
                assert!(position.is_some_and(|p| p < index), "{kind} calls {dependency}, which starts after it");
            }
        }
    }

    #[test]
    fn dependants_are_the_reverse_of_dependencies() {
        assert_eq!(
            ServiceKind::Contacts.dependants(),
            [ServiceKind::Scheduling, ServiceKind::Mediation, ServiceKind::Reporting]
        );
        assert_eq!(ServiceKind::Scheduling.dependants(), [ServiceKind::Mediation, ServiceKind::Reporting]);
        assert_eq!(ServiceKind::Mediation.dependants(), [ServiceKind::Reporting]);
        assert!(ServiceKind::Reporting.dependants().is_empty());
    }
}
