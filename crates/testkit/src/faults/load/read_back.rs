//! Everything the clients' log says was acknowledged, read back from the services: found, once, with no etag
//! behind the last acknowledged; and reporting's dashboard awaited until it equals the log's truth.
use super::*;

/// The revision of an etag `"r<n>"` (with or without its quotes).
pub fn revision(etag: &str) -> Option<i64> {
    etag.trim().trim_matches('"').strip_prefix('r')?.parse().ok()
}

/// What reading everything back found.
#[derive(Debug, Default, Clone)]
pub struct Verification {
    /// For each of the log's acks (same index): whether the write is there.
    pub found: Vec<bool>,
    /// Why an ack was not found, for the failure message.
    pub missing: Vec<String>,
    /// Request ids (and update markers) that produced more than one resource, with how many.
    pub duplicates: BTreeMap<String, usize>,
    /// Resources of this load that no acknowledged write made (a write the client gave up on may have been
    /// applied).
    pub unacknowledged: Vec<String>,
    /// Contacts whose etag went backwards: an acknowledged revision lower than an earlier one, or a stored one
    /// lower than the last acknowledged.
    pub etag_regressions: Vec<String>,
}

/// A read with a deadline, retried while the answer is UNAVAILABLE, DEADLINE_EXCEEDED or CANCELLED (for at most
/// 20 s): the system is meant to be healthy again when the log is verified.
async fn read<T, F, Fut>(what: &str, mut make: F) -> Result<T, Status>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Response<T>, Status>>,
{
    let began = Instant::now();
    loop {
        match make().await {
            Ok(response) => return Ok(response.into_inner()),
            Err(status) if outcome_unknown(status.code()) && began.elapsed() < Duration::from_secs(20) => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(status) => {
                return Err(Status::new(status.code(), format!("{what}: {}", status.message())));
            }
        }
    }
}

const VERIFY_DEADLINE: Duration = Duration::from_secs(10);

/// Reads back every acknowledged write of `log` and lists every resource of the load `run`.
pub async fn verify(log: &ClientLog, channels: &[Channel; 4], run: &str) -> Verification {
    let channel = |kind| channels[index(kind)].clone();
    let contacts = ContactsServiceClient::new(channel(ServiceKind::Contacts)).max_decoding_message_size(64 << 20);
    let scheduling = SchedulingServiceClient::new(channel(ServiceKind::Scheduling)).max_decoding_message_size(64 << 20);
    let mediation = MediationServiceClient::new(channel(ServiceKind::Mediation)).max_decoding_message_size(64 << 20);
    let d = VERIFY_DEADLINE;
    let mut verification = Verification::default();

    // Every resource of the load, listed: how many each request id produced.
    let mut listed: HashMap<String, usize> = HashMap::new();
    let mut count = |label: &str| {
        if label.starts_with(run) {
            *listed.entry(label.to_owned()).or_default() += 1;
        }
    };
    let mut token = String::new();
    loop {
        let message =
            ListOrganizationsRequest { page_size: Some(1000), page_token: token.clone(), ..Default::default() };
        let page = read("ListOrganizations", || {
            let mut client = contacts.clone();
            let request = with_deadline(message.clone(), d);
            async move { client.list_organizations(request).await }
        })
        .await
        .expect("ListOrganizations");
        page.organizations.iter().for_each(|o| count(&o.display_name));
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    let mut stored_contacts: HashMap<String, Contact> = HashMap::new();
    loop {
        let message = ListContactsRequest {
            page_size: Some(1000),
            page_token: token.clone(),
            show_deleted: true,
            ..Default::default()
        };
        let page = read("ListContacts", || {
            let mut client = contacts.clone();
            let request = with_deadline(message.clone(), d);
            async move { client.list_contacts(request).await }
        })
        .await
        .expect("ListContacts");
        for contact in page.contacts {
            count(&contact.display_name);
            stored_contacts.insert(contact.name.clone(), contact);
        }
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    loop {
        let message = ListMeetingsRequest { page_size: Some(1000), page_token: token.clone(), ..Default::default() };
        let page = read("ListMeetings", || {
            let mut client = scheduling.clone();
            let request = with_deadline(message.clone(), d);
            async move { client.list_meetings(request).await }
        })
        .await
        .expect("ListMeetings");
        page.meetings.iter().for_each(|m| count(&m.title));
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    loop {
        let message = ListCasesRequest { page_size: Some(1000), page_token: token.clone(), ..Default::default() };
        let page = read("ListCases", || {
            let mut client = mediation.clone();
            let request = with_deadline(message.clone(), d);
            async move { client.list_cases(request).await }
        })
        .await
        .expect("ListCases");
        page.cases.iter().for_each(|c| count(&c.title));
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    // Notes, case by case (every case the load opened).
    let mut notes: HashMap<String, Vec<CaseNote>> = HashMap::new();
    for ack in log.acks.iter().filter(|ack| ack.kind == WriteKind::Case) {
        let mut all = Vec::new();
        loop {
            let message =
                ListCaseNotesRequest { parent: ack.name.clone(), page_size: Some(1000), page_token: token.clone() };
            let page = read("ListCaseNotes", || {
                let mut client = mediation.clone();
                let request = with_deadline(message.clone(), d);
                async move { client.list_case_notes(request).await }
            })
            .await
            .expect("ListCaseNotes");
            all.extend(page.notes);
            token = page.next_page_token;
            if token.is_empty() {
                break;
            }
        }
        all.iter().for_each(|note| count(&note.text));
        notes.insert(ack.name.clone(), all);
    }

    let acknowledged: std::collections::HashSet<&str> =
        log.acks.iter().filter(|ack| ack.kind != WriteKind::ContactUpdate).map(|ack| ack.request_id.as_str()).collect();
    for (label, n) in &listed {
        if *n > 1 {
            verification.duplicates.insert(label.clone(), *n);
        }
        if !acknowledged.contains(label.as_str()) {
            verification.unacknowledged.push(label.clone());
        }
    }
    verification.unacknowledged.sort();

    // Contacts: the etags acknowledged only go up, and the stored one is at least the last acknowledged.
    let mut last_revision: HashMap<&str, (i64, &str)> = HashMap::new();
    for ack in log.acks.iter().filter(|ack| matches!(ack.kind, WriteKind::Contact | WriteKind::ContactUpdate)) {
        let Some(acknowledged) = revision(&ack.etag) else {
            verification
                .etag_regressions
                .push(format!("{}: acknowledged etag {:?} is no revision", ack.name, ack.etag));
            continue;
        };
        if let Some((before, _)) = last_revision.get(ack.name.as_str())
            && acknowledged <= *before
        {
            verification
                .etag_regressions
                .push(format!("{}: acknowledged r{acknowledged} after r{before} ({})", ack.name, ack.request_id));
        }
        last_revision.insert(&ack.name, (acknowledged, &ack.request_id));
    }
    for (name, (acknowledged, _)) in &last_revision {
        match stored_contacts.get(*name).and_then(|contact| revision(&contact.etag)) {
            Some(stored) if stored < *acknowledged => verification
                .etag_regressions
                .push(format!("{name}: stored r{stored} is behind the acknowledged r{acknowledged}")),
            _ => {}
        }
    }

    // Every acknowledged write, read back.
    for ack in &log.acks {
        let found = match ack.kind {
            WriteKind::Organization => {
                let name = ack.name.clone();
                read("GetOrganization", || {
                    let mut client = contacts.clone();
                    let request = with_deadline(GetOrganizationRequest { name: name.clone() }, d);
                    async move { client.get_organization(request).await }
                })
                .await
                .map(|r| r.organization.is_some_and(|o| o.display_name == ack.request_id))
            }
            WriteKind::Contact => {
                let name = ack.name.clone();
                read("GetContact", || {
                    let mut client = contacts.clone();
                    let request = with_deadline(GetContactRequest { name: name.clone() }, d);
                    async move { client.get_contact(request).await }
                })
                .await
                .map(|r| r.contact.is_some_and(|c| c.display_name == ack.request_id))
            }
            WriteKind::ContactUpdate => {
                // Applied if the contact is at or past the acknowledged revision; the last update of each contact
                // must also be what it holds.
                let stored = stored_contacts.get(&ack.name);
                let at_or_past = stored
                    .and_then(|c| revision(&c.etag))
                    .zip(revision(&ack.etag))
                    .is_some_and(|(stored, acknowledged)| stored >= acknowledged);
                let last = last_revision.get(ack.name.as_str()).is_some_and(|(_, marker)| *marker == ack.request_id);
                Ok(at_or_past && (!last || stored.is_some_and(|c| c.notes == ack.request_id)))
            }
            WriteKind::Meeting => {
                let name = ack.name.clone();
                read("GetMeeting", || {
                    let mut client = scheduling.clone();
                    let request = with_deadline(GetMeetingRequest { name: name.clone() }, d);
                    async move { client.get_meeting(request).await }
                })
                .await
                .map(|r| r.meeting.is_some_and(|m| m.title == ack.request_id))
            }
            WriteKind::Case | WriteKind::CaseAcknowledged => {
                let name = ack.name.clone();
                read("GetCase", || {
                    let mut client = mediation.clone();
                    let request = with_deadline(GetCaseRequest { name: name.clone() }, d);
                    async move { client.get_case(request).await }
                })
                .await
                .map(|r| {
                    r.case.is_some_and(|c| match ack.kind {
                        WriteKind::Case => c.name == ack.name,
                        _ => c.stage == Stage::Acknowledged as i32,
                    })
                })
            }
            WriteKind::CaseNote => {
                let case = ack.name.split("/notes/").next().unwrap_or_default();
                Ok(notes
                    .get(case)
                    .is_some_and(|all| all.iter().any(|n| n.name == ack.name && n.text == ack.request_id)))
            }
        };
        let found = match found {
            Ok(found) => found,
            Err(status) if status.code() == Code::NotFound => false,
            Err(status) => panic!("reading back {} ({}): {status}", ack.name, ack.request_id),
        };
        if !found {
            verification.missing.push(format!("{:?} {} ({})", ack.kind, ack.name, ack.request_id));
        }
        verification.found.push(found);
    }
    verification
}

/// Polls reporting's dashboard until its four counts are `truth`; how long it took, or the last counts seen after
/// `timeout`.
pub async fn wait_for_dashboard(channel: &Channel, truth: Counts, timeout: Duration) -> Result<Duration, Counts> {
    let mut client = ReportingServiceClient::new(channel.clone());
    let started = Instant::now();
    let mut last = Counts::default();
    loop {
        let request = with_deadline(GetDashboardRequest::default(), Duration::from_secs(5));
        if let Ok(response) = client.get_dashboard(request).await
            && let Some(d) = response.into_inner().dashboard
        {
            last = Counts {
                organizations: d.organization_count,
                contacts: d.contact_count,
                meetings: d.meeting_count,
                open_cases: d.open_case_count,
            };
            if last == truth {
                return Ok(started.elapsed());
            }
        }
        if started.elapsed() > timeout {
            return Err(last);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
