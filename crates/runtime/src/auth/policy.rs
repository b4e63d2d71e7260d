//! The role table: which roles may call which RPC — the one place that says so. Every RPC every server serves
//! (except health and reflection, which are open) has a row; an RPC without one is refused to everybody, and
//! `tests/tests/security.rs` walks every server's reflection list and fails on any RPC missing here, so a new RPC
//! cannot ship without its row. `docs/security.md` shows this table as rendered by [`render_markdown`] (a test
//! keeps the two equal).
use crate::auth::identity::{Role, Roles};

/// One row of the table: the RPC (`package.Service/Method`) and the roles that may call it.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub rpc: &'static str,
    pub roles: Roles,
    /// Why these roles, in a few words (rendered into the docs).
    pub why: &'static str,
}

use Role::{Admin, Mediator, Officer, Service, Viewer};

/// Anyone signed in to the office: every human role.
const STAFF: Roles = Roles::of(&[Viewer, Officer, Mediator, Admin]);
/// Those who keep contacts, meetings and engagement records.
const KEEPERS: Roles = Roles::of(&[Officer, Admin]);
/// Those who keep meetings: officers, and mediators (mediation sessions are meetings).
const SCHEDULERS: Roles = Roles::of(&[Officer, Mediator, Admin]);
/// Those who work disputes.
const MEDIATORS: Roles = Roles::of(&[Mediator, Admin]);
/// Those who may follow a service's every change (other services, administrators).
const FOLLOWERS: Roles = Roles::of(&[Service, Admin]);
const ADMINS: Roles = Roles::of(&[Admin]);

const fn rule(rpc: &'static str, roles: Roles, why: &'static str) -> Rule {
    Rule { rpc, roles, why }
}

const READ: &str = "read by all staff";
const KEEP: &str = "kept by officers";
const CALLED: &str = "also called by other services";
const BULK: &str = "bulk personal data";
const WORK: &str = "the mediator's work";

/// The table.
pub const RULES: &[Rule] = &[
    // Every server.
    rule("liaison.common.v1.ChangeFeedService/ListChanges", FOLLOWERS, "every change of the service"),
    rule("liaison.common.v1.ChangeFeedService/WatchChanges", FOLLOWERS, "every change of the service"),
    rule("liaison.common.v1.AuditService/ListAuditEvents", ADMINS, "who did what"),
    // Contacts.
    rule("liaison.contacts.v1.ContactsService/CreateOrganization", KEEPERS, KEEP),
    rule("liaison.contacts.v1.ContactsService/GetOrganization", STAFF, READ),
    rule("liaison.contacts.v1.ContactsService/ListOrganizations", STAFF, READ),
    rule("liaison.contacts.v1.ContactsService/UpdateOrganization", KEEPERS, KEEP),
    rule("liaison.contacts.v1.ContactsService/DeleteOrganization", KEEPERS, KEEP),
    rule("liaison.contacts.v1.ContactsService/CreateContact", KEEPERS, KEEP),
    rule("liaison.contacts.v1.ContactsService/GetContact", STAFF, READ),
    rule("liaison.contacts.v1.ContactsService/ListContacts", STAFF, READ),
    rule("liaison.contacts.v1.ContactsService/UpdateContact", KEEPERS, KEEP),
    rule("liaison.contacts.v1.ContactsService/DeleteContact", KEEPERS, KEEP),
    rule("liaison.contacts.v1.ContactsService/UndeleteContact", KEEPERS, KEEP),
    rule("liaison.contacts.v1.ContactsService/PurgeContact", ADMINS, "erasure cannot be undone"),
    rule("liaison.contacts.v1.ContactsService/SearchContacts", STAFF, READ),
    rule("liaison.contacts.v1.ContactsService/SearchOrganizations", STAFF, READ),
    rule("liaison.contacts.v1.ContactsService/ListContactHistory", STAFF, READ),
    rule("liaison.contacts.v1.ContactsService/FindDuplicateContacts", KEEPERS, KEEP),
    rule("liaison.contacts.v1.ContactsService/MergeContacts", KEEPERS, KEEP),
    rule("liaison.contacts.v1.ContactsService/UnmergeContacts", KEEPERS, KEEP),
    rule("liaison.contacts.v1.ContactsService/ImportContacts", KEEPERS, BULK),
    rule("liaison.contacts.v1.ContactsService/ExportContacts", KEEPERS, BULK),
    rule("liaison.contacts.v1.ContactsService/BatchGetContacts", STAFF.union(Roles::of(&[Service])), CALLED),
    rule("liaison.contacts.v1.ContactsService/BatchGetParties", STAFF.union(Roles::of(&[Service])), CALLED),
    rule("liaison.contacts.v1.ContactsService/CreateAffiliation", KEEPERS, KEEP),
    rule("liaison.contacts.v1.ContactsService/GetAffiliation", STAFF, READ),
    rule("liaison.contacts.v1.ContactsService/ListAffiliations", STAFF, READ),
    rule("liaison.contacts.v1.ContactsService/UpdateAffiliation", KEEPERS, KEEP),
    rule("liaison.contacts.v1.ContactsService/DeleteAffiliation", KEEPERS, KEEP),
    rule("liaison.contacts.v1.ContactsService/SetPointOfContact", KEEPERS, KEEP),
    rule("liaison.contacts.v1.ContactsService/CreateRelationship", KEEPERS, KEEP),
    rule("liaison.contacts.v1.ContactsService/GetRelationship", STAFF, READ),
    rule("liaison.contacts.v1.ContactsService/ListRelationships", STAFF, READ),
    rule("liaison.contacts.v1.ContactsService/UpdateRelationship", KEEPERS, KEEP),
    rule("liaison.contacts.v1.ContactsService/DeleteRelationship", KEEPERS, KEEP),
    rule("liaison.contacts.v1.ContactsService/CreateAssessment", KEEPERS, KEEP),
    rule("liaison.contacts.v1.ContactsService/ListAssessments", STAFF, READ),
    rule("liaison.contacts.v1.ContactsService/ListStakeholders", STAFF, READ),
    rule("liaison.contacts.v1.ContactsService/CreateInteraction", SCHEDULERS, "recorded by whoever met the party"),
    rule("liaison.contacts.v1.ContactsService/GetInteraction", STAFF, READ),
    rule("liaison.contacts.v1.ContactsService/ListInteractions", STAFF, READ),
    rule("liaison.contacts.v1.ContactsService/UpdateInteraction", SCHEDULERS, "recorded by whoever met the party"),
    rule("liaison.contacts.v1.ContactsService/DeleteInteraction", KEEPERS, KEEP),
    rule("liaison.contacts.v1.ContactsService/GetEngagementSummary", STAFF, READ),
    rule(
        "liaison.contacts.v1.ContactsService/CheckConflictOfInterest",
        MEDIATORS.union(Roles::of(&[Officer, Service])),
        "asked before a mediator is assigned",
    ),
    // Scheduling.
    rule("liaison.scheduling.v1.SchedulingService/CreateMeeting", SCHEDULERS, "kept by officers and mediators"),
    rule("liaison.scheduling.v1.SchedulingService/GetMeeting", STAFF, READ),
    rule("liaison.scheduling.v1.SchedulingService/ListMeetings", STAFF, READ),
    rule("liaison.scheduling.v1.SchedulingService/FindMeetingTimes", STAFF, "free/busy, read by all staff"),
    rule("liaison.scheduling.v1.SchedulingService/UpdateMeeting", SCHEDULERS, "kept by officers and mediators"),
    rule("liaison.scheduling.v1.SchedulingService/DeleteMeeting", SCHEDULERS, "kept by officers and mediators"),
    rule("liaison.scheduling.v1.SchedulingService/RescheduleMeeting", SCHEDULERS, "kept by officers and mediators"),
    rule("liaison.scheduling.v1.SchedulingService/ConfirmMeeting", SCHEDULERS, "kept by officers and mediators"),
    rule("liaison.scheduling.v1.SchedulingService/CancelMeeting", SCHEDULERS, "kept by officers and mediators"),
    rule(
        "liaison.scheduling.v1.SchedulingService/RespondToInvitation",
        SCHEDULERS,
        "recorded by the officer or mediator who heard the answer",
    ),
    rule("liaison.scheduling.v1.SchedulingService/CompleteMeeting", SCHEDULERS, "recorded by whoever ran the meeting"),
    rule(
        "liaison.scheduling.v1.SchedulingService/CorrectMeetingRecord",
        SCHEDULERS,
        "corrected with a reason, kept in the record",
    ),
    rule("liaison.scheduling.v1.SchedulingService/CreateActionItem", SCHEDULERS, "kept by officers and mediators"),
    rule("liaison.scheduling.v1.SchedulingService/GetActionItem", STAFF, READ),
    rule("liaison.scheduling.v1.SchedulingService/ListActionItems", STAFF, READ),
    rule("liaison.scheduling.v1.SchedulingService/UpdateActionItem", SCHEDULERS, "kept by officers and mediators"),
    rule("liaison.scheduling.v1.SchedulingService/SetActionItemState", SCHEDULERS, "kept by officers and mediators"),
    rule("liaison.scheduling.v1.SchedulingService/ExportCalendar", STAFF, "calendars, read by all staff"),
    rule(
        "liaison.scheduling.v1.SchedulingService/ImportCalendarReply",
        SCHEDULERS.union(Roles::of(&[Service])),
        "answers relayed by officers or by a mail gateway service",
    ),
    rule("liaison.scheduling.v1.SchedulingService/ListOccurrences", STAFF, READ),
    rule("liaison.scheduling.v1.SchedulingService/RescheduleOccurrence", SCHEDULERS, "kept by officers and mediators"),
    rule("liaison.scheduling.v1.SchedulingService/CancelOccurrence", SCHEDULERS, "kept by officers and mediators"),
    rule("liaison.scheduling.v1.SchedulingService/SplitSeries", SCHEDULERS, "kept by officers and mediators"),
    rule("liaison.scheduling.v1.SchedulingService/CreateCommitment", SCHEDULERS, "kept by officers and mediators"),
    rule("liaison.scheduling.v1.SchedulingService/GetCommitment", STAFF, READ),
    rule("liaison.scheduling.v1.SchedulingService/ListCommitments", STAFF, READ),
    rule("liaison.scheduling.v1.SchedulingService/UpdateCommitment", SCHEDULERS, "kept by officers and mediators"),
    rule("liaison.scheduling.v1.SchedulingService/TransitionCommitment", SCHEDULERS, "kept by officers and mediators"),
    rule("liaison.scheduling.v1.SchedulingService/AddCommitmentEvidence", SCHEDULERS, "kept by officers and mediators"),
    rule("liaison.scheduling.v1.SchedulingService/SummarizeOverdueCommitments", STAFF, READ),
    rule("liaison.scheduling.v1.SchedulingService/CreateProject", SCHEDULERS, "kept by officers and mediators"),
    rule("liaison.scheduling.v1.SchedulingService/GetProject", STAFF, READ),
    rule("liaison.scheduling.v1.SchedulingService/ListProjects", STAFF, READ),
    rule("liaison.scheduling.v1.SchedulingService/UpdateProject", SCHEDULERS, "kept by officers and mediators"),
    rule("liaison.scheduling.v1.SchedulingService/CreateMilestone", SCHEDULERS, "kept by officers and mediators"),
    rule("liaison.scheduling.v1.SchedulingService/ListMilestones", STAFF, READ),
    rule("liaison.scheduling.v1.SchedulingService/UpdateMilestone", SCHEDULERS, "kept by officers and mediators"),
    rule("liaison.scheduling.v1.SchedulingService/CreateBaseline", SCHEDULERS, "kept by officers and mediators"),
    rule("liaison.scheduling.v1.SchedulingService/ListBaselines", STAFF, READ),
    rule("liaison.scheduling.v1.SchedulingService/CompareToBaseline", STAFF, READ),
    // Mediation.
    rule("liaison.mediation.v1.MediationService/OpenCase", SCHEDULERS, "intake by officers and mediators"),
    rule("liaison.mediation.v1.MediationService/GetCase", STAFF, READ),
    rule("liaison.mediation.v1.MediationService/ListCases", STAFF, READ),
    rule("liaison.mediation.v1.MediationService/AcknowledgeCase", SCHEDULERS, "intake by officers and mediators"),
    rule("liaison.mediation.v1.MediationService/AssessCase", MEDIATORS, WORK),
    rule("liaison.mediation.v1.MediationService/AssignMediator", MEDIATORS, WORK),
    rule("liaison.mediation.v1.MediationService/StartMediation", MEDIATORS, WORK),
    rule("liaison.mediation.v1.MediationService/RecordRootCause", MEDIATORS, WORK),
    rule("liaison.mediation.v1.MediationService/StartImplementation", MEDIATORS, WORK),
    rule("liaison.mediation.v1.MediationService/CloseCase", MEDIATORS, WORK),
    rule("liaison.mediation.v1.MediationService/EscalateCase", SCHEDULERS, "anyone handling a case may escalate it"),
    rule("liaison.mediation.v1.MediationService/WithdrawCase", SCHEDULERS, "recorded at a party's request"),
    rule("liaison.mediation.v1.MediationService/AppealCase", SCHEDULERS, "recorded at a party's request"),
    rule("liaison.mediation.v1.MediationService/ReopenCase", MEDIATORS, WORK),
    rule("liaison.mediation.v1.MediationService/CreateProposal", MEDIATORS, WORK),
    rule("liaison.mediation.v1.MediationService/ListProposals", STAFF, READ),
    rule("liaison.mediation.v1.MediationService/RespondToProposal", MEDIATORS, "recorded by the mediator for a party"),
    rule("liaison.mediation.v1.MediationService/CreatePreventionAction", MEDIATORS, WORK),
    rule("liaison.mediation.v1.MediationService/ListPreventionActions", STAFF, READ),
    rule("liaison.mediation.v1.MediationService/SettlePreventionAction", SCHEDULERS, "owners are often officers"),
    rule("liaison.mediation.v1.MediationService/ScheduleSession", MEDIATORS, WORK),
    rule("liaison.mediation.v1.MediationService/AddCaseNote", SCHEDULERS, "anyone handling a case"),
    rule("liaison.mediation.v1.MediationService/ListCaseNotes", STAFF, READ),
    rule("liaison.mediation.v1.MediationService/GetMediationPolicy", STAFF, READ),
    rule("liaison.mediation.v1.MediationService/UpdateMediationPolicy", ADMINS, "deadlines every case follows"),
    // The benchmark's echo server (its ceiling), not a Liaison service.
    rule("liaison.bench.v1.EchoService/Echo", Roles::ALL, "benchmark ceiling only"),
    // Reporting.
    rule("liaison.reporting.v1.ReportingService/GetDashboard", STAFF, READ),
    rule("liaison.reporting.v1.ReportingService/GetIngestionStatus", ADMINS, "operations"),
    rule("liaison.reporting.v1.ReportingService/RebuildReadModel", ADMINS, "operations: replays every feed"),
    rule("liaison.reporting.v1.ReportingService/SubmitFeedback", STAFF, "anyone in the office gives feedback"),
    rule("liaison.reporting.v1.ReportingService/ListFeedback", STAFF, READ),
    rule("liaison.reporting.v1.ReportingService/SummarizeFeedback", STAFF, READ),
    rule("liaison.reporting.v1.ReportingService/GenerateReport", STAFF, "management asks for reports"),
    rule("liaison.reporting.v1.ReportingService/GetReport", STAFF, READ),
    rule("liaison.reporting.v1.ReportingService/ListReports", STAFF, READ),
    rule(
        "liaison.reporting.v1.ReportingService/ExplainFigure",
        STAFF,
        "read by all staff; confidential cases redacted",
    ),
    rule("liaison.reporting.v1.ReportingService/CompareReports", STAFF, READ),
    rule("liaison.reporting.v1.ReportingService/RenderReport", STAFF, READ),
    rule("liaison.reporting.v1.ReportingService/CreateReportSchedule", KEEPERS, "kept by officers"),
    rule("liaison.reporting.v1.ReportingService/ListReportSchedules", STAFF, READ),
    rule("liaison.reporting.v1.ReportingService/DeleteReportSchedule", KEEPERS, "kept by officers"),
];

/// The roles that may call `rpc` (`package.Service/Method`), or `None` when the table has no row for it (then
/// nobody may).
pub fn roles_for(rpc: &str) -> Option<Roles> {
    RULES.iter().find(|rule| rule.rpc == rpc).map(|rule| rule.roles)
}

/// The table as Markdown: one row per RPC, one column per role.
pub fn render_markdown() -> String {
    let mut out = String::from("| RPC |");
    for role in Role::ALL {
        out.push_str(&format!(" {role} |"));
    }
    out.push_str(" why |\n|---|");
    for _ in Role::ALL {
        out.push_str(":-:|");
    }
    out.push_str("---|\n");
    for rule in RULES {
        out.push_str(&format!("| `{}` |", rule.rpc));
        for role in Role::ALL {
            out.push_str(if rule.roles.contains(role) { " ✓ |" } else { "  |" });
        }
        out.push_str(&format!(" {} |\n", rule.why));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rpc_has_one_row_and_every_row_grants_someone() {
        let mut seen = std::collections::HashSet::new();
        for rule in RULES {
            assert!(seen.insert(rule.rpc), "{} has two rows", rule.rpc);
            assert!(!rule.roles.is_empty(), "{} grants nobody", rule.rpc);
            assert!(rule.rpc.split_once('/').is_some_and(|(s, m)| s.contains('.') && !m.is_empty()), "{}", rule.rpc);
        }
    }

    #[test]
    fn an_rpc_missing_from_the_table_is_granted_to_nobody() {
        assert_eq!(roles_for("liaison.contacts.v1.ContactsService/DropEverything"), None);
        assert!(roles_for("liaison.contacts.v1.ContactsService/GetContact").is_some_and(|r| r.contains(Role::Viewer)));
        assert!(
            roles_for("liaison.contacts.v1.ContactsService/CreateContact").is_some_and(|r| !r.contains(Role::Viewer))
        );
    }

    #[test]
    fn the_docs_show_the_table_as_it_is() {
        let docs = include_str!("../../../../docs/security.md");
        assert!(
            docs.contains(&render_markdown()),
            "docs/security.md is out of date: paste the table printed below between its markers\n{}",
            render_markdown()
        );
    }
}
