//! A scope applied to the records of a report: which organisations and contacts it covers (an organisation and
//! those below it with their affiliated people, a label's organisations and contacts, a project), and the records
//! that take part with them.
use super::{Rec, Records, StatusChange};
use crate::domain::Scope;
use crate::domain::feedback::FeedbackRecord;
use liaison_proto::contacts::v1 as contacts;
use liaison_proto::mediation::v1 as mediation_wire;
use liaison_proto::scheduling::v1 as scheduling;
use std::collections::{HashMap, HashSet};

/// The organisations and contacts a scope covers (`None`: everything).
#[derive(Debug, Clone, Default)]
pub(crate) struct Members {
    names: HashSet<String>,
}

impl Members {
    fn resolve(scope: &Scope, records: &Records) -> Option<Self> {
        let mut names = HashSet::new();
        let mut organizations: HashSet<String> = HashSet::new();
        match scope {
            Scope::All => return None,
            Scope::Organization(org) => {
                // The organisation and every one below it in the parent chain.
                organizations.insert(org.to_string());
                loop {
                    let before = organizations.len();
                    for o in &records.organizations {
                        if organizations.contains(&o.item.parent) {
                            organizations.insert(o.meta.name.clone());
                        }
                    }
                    if organizations.len() == before {
                        break;
                    }
                }
            }
            Scope::Project(project) => {
                names.insert(project.to_string());
                return Some(Self { names });
            }
            Scope::Label(label) => {
                organizations.extend(
                    records.organizations.iter().filter(|o| o.item.labels.contains(label)).map(|o| o.meta.name.clone()),
                );
                names.extend(
                    records.contacts.iter().filter(|c| c.item.labels.contains(label)).map(|c| c.meta.name.clone()),
                );
            }
        }
        for affiliation in &records.affiliations {
            if organizations.contains(&affiliation.organization) {
                names.insert(affiliation.contact.clone());
            }
        }
        for project in &records.projects {
            if organizations.contains(&project.item.owning_organization) {
                names.insert(project.meta.name.clone());
            }
        }
        names.extend(organizations);
        Some(Self { names })
    }

    pub(crate) fn has(&self, name: &str) -> bool {
        self.names.contains(name)
    }

    pub(crate) fn any<'a>(&self, mut names: impl Iterator<Item = &'a str>) -> bool {
        names.any(|n| self.names.contains(n))
    }

    fn add(&mut self, name: &str) {
        self.names.insert(name.to_owned());
    }
}

/// The records of a report after its scope is applied.
pub(crate) struct InScope<'a> {
    pub organizations: Vec<&'a Rec<contacts::Organization>>,
    pub contacts: Vec<&'a Rec<contacts::Contact>>,
    pub interactions: Vec<&'a Rec<contacts::Interaction>>,
    pub meetings: Vec<&'a Rec<scheduling::Meeting>>,
    pub action_items: Vec<&'a Rec<scheduling::ActionItem>>,
    pub commitments: Vec<&'a Rec<scheduling::Commitment>>,
    pub projects: Vec<&'a Rec<scheduling::Project>>,
    pub milestones: Vec<&'a Rec<scheduling::Milestone>>,
    pub cases: Vec<&'a Rec<mediation_wire::Case>>,
    pub prevention_actions: Vec<&'a Rec<mediation_wire::PreventionAction>>,
    pub status_changes: Vec<&'a StatusChange>,
    pub feedback: Vec<&'a FeedbackRecord>,
    /// The organisations each contact is affiliated with.
    pub affiliations: HashMap<&'a str, Vec<&'a str>>,
    /// Display names of organisations and contacts, for tables.
    pub names: HashMap<&'a str, &'a str>,
    /// A case's team (mediator and case team), for confidential evidence.
    pub teams: HashMap<&'a str, Vec<String>>,
}

impl<'a> InScope<'a> {
    pub(super) fn new(scope: &Scope, records: &'a Records) -> Self {
        let members = Members::resolve(scope, records);
        let project_scope = matches!(scope, Scope::Project(_));
        let keep = |names: &mut dyn Iterator<Item = &str>| members.as_ref().is_none_or(|m| m.any(names));
        let mut names = HashMap::new();
        for o in &records.organizations {
            names.insert(o.meta.name.as_str(), o.item.display_name.as_str());
        }
        for c in &records.contacts {
            names.insert(c.meta.name.as_str(), c.item.display_name.as_str());
        }
        let mut affiliations: HashMap<&str, Vec<&str>> = HashMap::new();
        for a in &records.affiliations {
            affiliations.entry(a.contact.as_str()).or_default().push(a.organization.as_str());
        }
        let teams = records
            .cases
            .iter()
            .map(|c| {
                let mut team = c.item.case_team.clone();
                if !c.item.mediator.is_empty() {
                    team.push(c.item.mediator.clone());
                }
                (c.meta.name.as_str(), team)
            })
            .collect();
        let organizations: Vec<_> = records
            .organizations
            .iter()
            .filter(|o| !project_scope && keep(&mut std::iter::once(o.meta.name.as_str())))
            .collect();
        let contacts = records
            .contacts
            .iter()
            .filter(|c| !project_scope && keep(&mut std::iter::once(c.meta.name.as_str())))
            .collect();
        let interactions = records
            .interactions
            .iter()
            .filter(|i| !project_scope && keep(&mut i.item.participants.iter().map(String::as_str)))
            .collect();
        let meetings: Vec<_> = records
            .meetings
            .iter()
            .filter(|m| {
                !project_scope
                    && keep(
                        &mut m
                            .item
                            .participants
                            .iter()
                            .chain(m.item.attendees.iter().map(|a| &a.contact))
                            .chain([&m.item.organizer])
                            .map(String::as_str),
                    )
            })
            .collect();
        let mut members = members;
        if let Some(members) = members.as_mut() {
            for m in &meetings {
                members.add(&m.meta.name);
            }
        }
        let keep = |names: &mut dyn Iterator<Item = &str>| members.as_ref().is_none_or(|m| m.any(names));
        let action_items = records
            .action_items
            .iter()
            .filter(|a| !project_scope && keep(&mut [a.item.owner.as_str(), a.item.meeting.as_str()].into_iter()))
            .collect();
        let projects: Vec<_> =
            records.projects.iter().filter(|p| keep(&mut std::iter::once(p.meta.name.as_str()))).collect();
        let project_names: HashSet<&str> = projects.iter().map(|p| p.meta.name.as_str()).collect();
        let on_project = |milestone: &str| project_of(milestone).is_some_and(|p| project_names.contains(p));
        let milestones = records.milestones.iter().filter(|m| on_project(&m.meta.name)).collect();
        let commitments: Vec<&Rec<scheduling::Commitment>> = records
            .commitments
            .iter()
            .filter(|c| {
                c.item.milestones.iter().any(|m| on_project(m))
                    || (!project_scope && keep(&mut [c.item.stakeholder.as_str(), c.item.owner.as_str()].into_iter()))
            })
            .collect();
        let cases: Vec<_> = records
            .cases
            .iter()
            .filter(|c| {
                !project_scope
                    && keep(
                        &mut c
                            .item
                            .parties
                            .iter()
                            .chain(c.item.party_roles.iter().map(|p| &p.party))
                            .map(String::as_str),
                    )
            })
            .collect();
        let case_names: HashSet<&str> = cases.iter().map(|c| c.meta.name.as_str()).collect();
        let prevention_actions = records
            .prevention_actions
            .iter()
            .filter(|a| a.meta.name.split("/preventionActions/").next().is_some_and(|case| case_names.contains(case)))
            .collect();
        let status_changes =
            records.status_changes.iter().filter(|s| project_names.contains(s.project.as_str())).collect();
        let subjects: HashSet<&str> = organizations
            .iter()
            .map(|o| o.meta.name.as_str())
            .chain(meetings.iter().map(|m| m.meta.name.as_str()))
            .chain(projects.iter().map(|p| p.meta.name.as_str()))
            .chain(case_names.iter().copied())
            .chain(commitments.iter().map(|c| c.meta.name.as_str()))
            .collect();
        let feedback = records
            .feedback
            .iter()
            .filter(|f| {
                members.is_none()
                    || subjects.contains(f.subject.as_str())
                    || members.as_ref().is_some_and(|m| m.has(&f.subject))
            })
            .collect();
        Self {
            organizations,
            contacts,
            interactions,
            meetings,
            action_items,
            commitments,
            projects,
            milestones,
            cases,
            prevention_actions,
            status_changes,
            feedback,
            affiliations,
            names,
            teams,
        }
    }

    /// A name as a table shows it: the display name and the resource name.
    pub(crate) fn label(&self, name: &str) -> String {
        match self.names.get(name) {
            Some(display) if !display.is_empty() => format!("{display} ({name})"),
            _ => name.to_owned(),
        }
    }

    pub(crate) fn team(&self, case: &str) -> &[String] {
        self.teams.get(case).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// The project of a milestone's name, `projects/p` of `projects/p/milestones/m`.
pub(crate) fn project_of(milestone: &str) -> Option<&str> {
    milestone.split_once("/milestones/").map(|(project, _)| project)
}
