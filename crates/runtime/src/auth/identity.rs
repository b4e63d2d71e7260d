//! Who a request acts for: a subject with roles, and how the request reached us (directly, or forwarded by
//! another service on a person's behalf).
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

/// What a caller may do, by job. The role table ([`crate::auth::policy`]) says which roles may call which RPC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Reads what is not confidential.
    Viewer,
    /// A liaison officer: keeps contacts, meetings and commitments.
    Officer,
    /// Mediates disputes: works the cases assigned to them.
    Mediator,
    /// Administers the system: everything, including audit and the change feeds.
    Admin,
    /// Another Liaison service (or an integrating system) calling service-to-service; may act on behalf of a
    /// person it names.
    Service,
}

impl Role {
    pub const ALL: [Role; 5] = [Self::Viewer, Self::Officer, Self::Mediator, Self::Admin, Self::Service];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Officer => "officer",
            Self::Mediator => "mediator",
            Self::Admin => "admin",
            Self::Service => "service",
        }
    }

    const fn bit(self) -> u8 {
        1 << self as u8
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| format!("unknown role '{s}': expected one of viewer, officer, mediator, admin, service"))
    }
}

/// A set of roles.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Roles(u8);

impl Roles {
    pub const NONE: Roles = Roles(0);
    pub const ALL: Roles = Roles::of(&Role::ALL);

    /// The set of `roles` (usable in constants).
    pub const fn of(roles: &[Role]) -> Roles {
        let mut bits = 0;
        let mut i = 0;
        while i < roles.len() {
            bits |= roles[i].bit();
            i += 1;
        }
        Roles(bits)
    }

    pub const fn union(self, other: Roles) -> Roles {
        Roles(self.0 | other.0)
    }

    pub fn contains(self, role: Role) -> bool {
        self.0 & role.bit() != 0
    }

    /// Whether the two sets share a role.
    pub fn intersects(self, other: Roles) -> bool {
        self.0 & other.0 != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Role> {
        Role::ALL.into_iter().filter(move |role| self.contains(role.to_owned()))
    }
}

impl FromIterator<Role> for Roles {
    fn from_iter<I: IntoIterator<Item = Role>>(iter: I) -> Self {
        Roles(iter.into_iter().fold(0, |bits, role| bits | role.bit()))
    }
}

impl fmt::Debug for Roles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl fmt::Display for Roles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.iter().map(Role::as_str).collect();
        f.write_str(&names.join(", "))
    }
}

/// The subject of the reporting service's token, as `liaison dev-pki` mints it: the one follower of the change
/// feeds that receives confidential changes whole.
pub const REPORTING_SUBJECT: &str = "service:reporting";

/// A verified subject: who a token names (or, in development mode, who the caller says it is) and its roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The token's `sub`, e.g. `jane` or `service:scheduling`.
    pub subject: String,
    pub roles: Roles,
    /// The token's `name` claim, if any.
    pub display_name: Option<String>,
    /// The person's own record in the contacts service (the token's `contact` claim, `contacts/{id}`), if any:
    /// how a mediator or a case team member is recognised as the one assigned to a case.
    pub contact: Option<String>,
}

impl Identity {
    /// The subject of unauthenticated development calls that name no actor.
    pub const ANONYMOUS: &'static str = "anonymous";

    /// Development mode's caller: whoever the `liaison-actor` metadata names, with every role.
    pub fn development(subject: impl Into<String>) -> Self {
        Self { subject: subject.into(), roles: Roles::ALL, display_name: None, contact: None }
    }

    pub fn anonymous() -> Self {
        Self::development(Self::ANONYMOUS)
    }
}

/// Who a request acts for and how it reached this service: what the change feed and audit records are made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The person (or system) the request acts for; its roles are what the call may do.
    pub identity: Identity,
    /// The service that forwarded the call on the person's behalf (the subject of its own token), if any.
    pub calling_service: Option<String>,
    /// `package.Service/Method` of the call being served.
    pub rpc: String,
    /// The peer address the call came from.
    pub source: Option<SocketAddr>,
}

impl Caller {
    /// Outside any request (background work, tests): anonymous, with every role.
    pub fn background() -> Self {
        Self { identity: Identity::anonymous(), calling_service: None, rpc: String::new(), source: None }
    }

    pub fn subject(&self) -> &str {
        &self.identity.subject
    }

    /// Whether the caller may read confidential records of every case: administrators, and the cluster's own
    /// reporting service (subject [`REPORTING_SUBJECT`]), which counts them in aggregates and never describes them.
    pub fn sees_all_confidential(&self) -> bool {
        self.identity.roles.contains(Role::Admin)
            || (self.identity.roles.contains(Role::Service) && self.identity.subject == REPORTING_SUBJECT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_and_form_sets() {
        assert_eq!("mediator".parse::<Role>(), Ok(Role::Mediator));
        assert!("root".parse::<Role>().expect_err("unknown").contains("viewer"));
        let set = Roles::of(&[Role::Viewer, Role::Admin]);
        assert!(set.contains(Role::Admin) && !set.contains(Role::Officer));
        assert_eq!(set.to_string(), "viewer, admin");
        assert!(set.intersects(Roles::of(&[Role::Admin])));
        assert!(!set.intersects(Roles::of(&[Role::Service])));
        assert_eq!(Roles::ALL.iter().count(), 5);
        assert!(Roles::NONE.is_empty());
        assert_eq!([Role::Officer, Role::Officer].into_iter().collect::<Roles>(), Roles::of(&[Role::Officer]));
    }
}
