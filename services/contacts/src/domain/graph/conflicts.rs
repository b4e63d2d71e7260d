//! Finding conflicts of interest: every chain of affiliations, parent organisations and relationships that
//! links a candidate (e.g. a prospective mediator) to a party. Pure: the store loads the graph, this walks it.
use std::collections::{BTreeMap, HashMap, HashSet};

/// A contact's place at an organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AffiliationLink {
    pub name: String,
    pub contact: String,
    pub organization: String,
    pub ended: bool,
}

/// A relationship between two parties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationshipLink {
    pub name: String,
    pub party: String,
    pub related_party: String,
    pub description: &'static str,
}

/// The part of the register around the candidate and the parties.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Graph {
    pub affiliations: Vec<AffiliationLink>,
    /// Organisation → its parent organisation.
    pub parents: HashMap<String, String>,
    /// Relationships with the candidate on either side.
    pub relationships: Vec<RelationshipLink>,
}

/// One link from the candidate to a party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub party: String,
    /// Resource names from the candidate to the party.
    pub path: Vec<String>,
    pub reason: String,
}

/// Every organisation `entity` belongs to (itself if it is one, those it is affiliated with, and their parent
/// organisations), each with the path from `entity` to it.
fn reach(entity: &str, graph: &Graph) -> BTreeMap<String, Vec<String>> {
    let mut reached: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut frontier: Vec<(String, Vec<String>)> = Vec::new();
    if entity.starts_with("organizations/") {
        frontier.push((entity.to_owned(), vec![entity.to_owned()]));
    }
    for a in graph.affiliations.iter().filter(|a| a.contact == entity) {
        frontier.push((a.organization.clone(), vec![entity.to_owned(), a.name.clone(), a.organization.clone()]));
    }
    while let Some((organization, path)) = frontier.pop() {
        if reached.contains_key(&organization) {
            continue;
        }
        if let Some(parent) = graph.parents.get(&organization) {
            let mut up = path.clone();
            up.push(parent.clone());
            frontier.push((parent.clone(), up));
        }
        reached.insert(organization, path);
    }
    reached
}

/// Joins the candidate's path to `via` with the party's path to it, reversed.
fn join(candidate_path: &[String], party_path: &[String]) -> Vec<String> {
    let mut path = candidate_path.to_vec();
    path.extend(party_path.iter().rev().skip(1).cloned());
    path
}

/// Every link between `candidate` and each of `parties`, closest links first per party.
pub fn find(candidate: &str, parties: &[String], graph: &Graph) -> Vec<Finding> {
    let from_candidate = reach(candidate, graph);
    let mut findings = Vec::new();
    let mut seen = HashSet::new();
    let mut push = |finding: Finding, findings: &mut Vec<Finding>| {
        if seen.insert(finding.path.clone()) {
            findings.push(finding);
        }
    };
    for party in parties {
        if party == candidate {
            push(
                Finding {
                    party: party.clone(),
                    path: vec![candidate.to_owned()],
                    reason: "the candidate is a party".into(),
                },
                &mut findings,
            );
            continue;
        }
        let from_party = reach(party, graph);
        for relationship in &graph.relationships {
            let other = if relationship.party == candidate {
                &relationship.related_party
            } else if relationship.related_party == candidate {
                &relationship.party
            } else {
                continue;
            };
            if other == party {
                push(
                    Finding {
                        party: party.clone(),
                        path: vec![candidate.to_owned(), relationship.name.clone(), party.clone()],
                        reason: format!(
                            "the candidate has a relationship with the party ({})",
                            relationship.description
                        ),
                    },
                    &mut findings,
                );
            } else if let Some(party_path) = from_party.get(other) {
                let mut path = vec![candidate.to_owned(), relationship.name.clone()];
                path.extend(party_path.iter().rev().cloned());
                push(
                    Finding {
                        party: party.clone(),
                        path,
                        reason: format!(
                            "the candidate has a relationship ({}) with {other}, which the party belongs to",
                            relationship.description
                        ),
                    },
                    &mut findings,
                );
            }
        }
        let shared: Vec<&String> = from_candidate.keys().filter(|o| from_party.contains_key(*o)).collect();
        for organization in &shared {
            let (candidate_path, party_path) = (&from_candidate[*organization], &from_party[*organization]);
            // Report the closest shared organisation only, not every ancestor above it.
            let closer = shared
                .iter()
                .any(|other| other != organization && candidate_path.contains(other) && party_path.contains(other));
            if closer {
                continue;
            }
            let ended = graph
                .affiliations
                .iter()
                .filter(|a| candidate_path.contains(&a.name) || party_path.contains(&a.name))
                .any(|a| a.ended);
            let how = if organization.as_str() == party {
                format!("the candidate belongs to {party}")
            } else if organization.as_str() == candidate {
                format!("the party belongs to {candidate}")
            } else {
                format!("the candidate and the party both belong to {organization}")
            };
            let reason = format!("{how}{}", if ended { " (through an affiliation that has ended)" } else { "" });
            push(Finding { party: party.clone(), path: join(candidate_path, party_path), reason }, &mut findings);
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn affiliation(name: &str, contact: &str, organization: &str) -> AffiliationLink {
        AffiliationLink { name: name.into(), contact: contact.into(), organization: organization.into(), ended: false }
    }

    #[test]
    fn a_candidate_working_in_a_department_of_a_party_agency_is_linked_through_the_parent() {
        let graph = Graph {
            affiliations: vec![affiliation("affiliations/1", "contacts/mediator", "organizations/dept")],
            parents: HashMap::from([("organizations/dept".into(), "organizations/agency".into())]),
            relationships: vec![],
        };
        let findings = find("contacts/mediator", &["organizations/agency".into()], &graph);
        assert_eq!(findings.len(), 1);
        assert_eq!(
            findings[0].path,
            ["contacts/mediator", "affiliations/1", "organizations/dept", "organizations/agency"]
        );
    }

    #[test]
    fn colleagues_are_linked_through_their_closest_shared_organization_only() {
        let graph = Graph {
            affiliations: vec![
                affiliation("affiliations/1", "contacts/mediator", "organizations/dept"),
                affiliation("affiliations/2", "contacts/party", "organizations/dept"),
            ],
            parents: HashMap::from([("organizations/dept".into(), "organizations/agency".into())]),
            relationships: vec![],
        };
        let findings = find("contacts/mediator", &["contacts/party".into()], &graph);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(
            findings[0].path,
            ["contacts/mediator", "affiliations/1", "organizations/dept", "affiliations/2", "contacts/party"]
        );
    }

    #[test]
    fn a_relationship_with_a_party_or_its_organization_is_a_link() {
        let graph = Graph {
            affiliations: vec![affiliation("affiliations/9", "contacts/party", "organizations/firm")],
            parents: HashMap::new(),
            relationships: vec![
                RelationshipLink {
                    name: "relationships/1".into(),
                    party: "contacts/party".into(),
                    related_party: "contacts/mediator".into(),
                    description: "family",
                },
                RelationshipLink {
                    name: "relationships/2".into(),
                    party: "contacts/mediator".into(),
                    related_party: "organizations/firm".into(),
                    description: "advisor",
                },
            ],
        };
        let findings = find("contacts/mediator", &["contacts/party".into()], &graph);
        let paths: Vec<_> = findings.iter().map(|f| f.path.clone()).collect();
        assert!(paths.contains(&vec!["contacts/mediator".into(), "relationships/1".into(), "contacts/party".into()]));
        assert!(paths.contains(&vec![
            "contacts/mediator".into(),
            "relationships/2".into(),
            "organizations/firm".into(),
            "affiliations/9".into(),
            "contacts/party".into()
        ]));
    }

    #[test]
    fn an_unconnected_candidate_has_no_findings_even_with_a_parent_cycle_in_the_data() {
        let graph = Graph {
            affiliations: vec![affiliation("affiliations/1", "contacts/party", "organizations/a")],
            parents: HashMap::from([
                ("organizations/a".into(), "organizations/b".into()),
                ("organizations/b".into(), "organizations/a".into()),
            ]),
            relationships: vec![],
        };
        assert!(find("contacts/mediator", &["contacts/party".into()], &graph).is_empty());
    }
}
