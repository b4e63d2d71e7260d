//! The details of a contact and an organisation: typed channels, languages, working hours, labels, consent,
//! postal addresses, and the list filters built on them.
use crate::helpers::*;
use crate::organizations::create_organization;
use liaison_proto::contacts::v1::*;
use liaison_testkit::{Call, Engine, on_both_databases};
use tonic::Code;

on_both_databases!(
    a_contact_keeps_typed_emails_and_phones_with_one_primary,
    two_primary_emails_or_a_bad_number_name_the_field_and_write_nothing,
    languages_working_hours_and_consent_round_trip_in_canonical_form,
    do_not_contact_is_flagged_on_every_read,
    contradictory_consent_and_hours_without_a_time_zone_are_rejected,
    the_single_email_field_replaces_the_list_when_named_alone,
    contacts_are_filtered_by_label_and_organization,
    organizations_are_filtered_by_kind_label_and_parent,
    a_filtered_page_token_is_refused_with_other_filters,
    an_organization_keeps_its_postal_address_and_labels,
);

fn email(address: &str, kind: ChannelType, primary: bool) -> EmailAddress {
    EmailAddress { address: address.into(), r#type: kind as i32, primary }
}

fn phone(number: &str, kind: ChannelType, primary: bool) -> PhoneNumber {
    PhoneNumber { number: number.into(), r#type: kind as i32, primary }
}

async fn create(client: &mut Client, contact: Contact) -> Result<Contact, tonic::Status> {
    client
        .create_contact(CreateContactRequest { contact: Some(contact), request_id: String::new() })
        .await
        .map(|r| r.into_inner().contact.unwrap())
}

async fn a_contact_keeps_typed_emails_and_phones_with_one_primary(engine: Engine) {
    let mut app = app(engine).await;
    let created = create(
        &mut app.client,
        Contact {
            display_name: "Grace Hopper".into(),
            emails: vec![
                email("grace@Navy.MIL", ChannelType::Work, false),
                email("g.hopper@home.example", ChannelType::Home, true),
            ],
            phones: vec![
                phone("+1 (202) 555-0100", ChannelType::Work, false),
                phone("0044 7700 900123", ChannelType::Mobile, false),
            ],
            preferred_channel: ContactChannel::Sms as i32,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        created.emails,
        [email("grace@navy.mil", ChannelType::Work, false), email("g.hopper@home.example", ChannelType::Home, true)]
    );
    assert_eq!(created.email, "g.hopper@home.example", "the primary is mirrored in `email`");
    // No phone was marked primary, so the first became primary; both are in E.164.
    assert_eq!(
        created.phones,
        [phone("+12025550100", ChannelType::Work, true), phone("+447700900123", ChannelType::Mobile, false)]
    );
    assert_eq!(created.phone, "+12025550100");
    assert_eq!(created.preferred_channel, ContactChannel::Sms as i32);
    assert!(created.uid.starts_with("urn:uuid:"), "{}", created.uid);
    let read = app.client.get_contact(GetContactRequest { name: created.name.clone() }).ok().await;
    assert_eq!(read.contact.unwrap(), created);
}

async fn two_primary_emails_or_a_bad_number_name_the_field_and_write_nothing(engine: Engine) {
    let mut app = app(engine).await;
    let status = create(
        &mut app.client,
        Contact {
            display_name: "Twice".into(),
            emails: vec![email("a@x.org", ChannelType::Work, true), email("b@x.org", ChannelType::Home, true)],
            phones: vec![phone("12345", ChannelType::Work, false)],
            preferred_channel: 42,
            languages: vec!["english".into()],
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(
        bad_fields(&status),
        ["contact.emails", "contact.phones[0].number", "contact.preferred_channel", "contact.languages[0]"]
    );
    assert!(all_changes(&mut app.client).await.is_empty());
}

async fn languages_working_hours_and_consent_round_trip_in_canonical_form(engine: Engine) {
    let mut app = app(engine).await;
    let hours = |day: Weekday, start: &str, end: &str| WorkingHours {
        day: day as i32,
        start_time: start.into(),
        end_time: end.into(),
    };
    let created = create(
        &mut app.client,
        Contact {
            display_name: "Amélie".into(),
            languages: vec!["FR-ca".into(), "en".into(), "fr-CA".into()],
            time_zone: "America/Montreal".into(),
            working_hours: vec![
                hours(Weekday::Monday, "13:00", "17:30"),
                hours(Weekday::Monday, "08:30", "12:00"),
                hours(Weekday::Friday, "09:00", "24:00"),
            ],
            labels: vec!["Board".into(), "permits".into(), "board".into()],
            consent: Some(Consent {
                allowed_channels: vec![ContactChannel::Email as i32, ContactChannel::Phone as i32],
                basis: ConsentBasis::Consent as i32,
                since: Some(Date { year: 2025, month: 3, day: 1 }),
                note: "Signed form at the March town hall".into(),
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(created.languages, ["fr-CA", "en"]);
    assert_eq!(
        created.working_hours,
        [
            hours(Weekday::Monday, "08:30", "12:00"),
            hours(Weekday::Monday, "13:00", "17:30"),
            hours(Weekday::Friday, "09:00", "24:00")
        ]
    );
    assert_eq!(created.labels, ["board", "permits"]);
    let consent = created.consent.clone().unwrap();
    assert_eq!(consent.allowed_channels, [ContactChannel::Email as i32, ContactChannel::Phone as i32]);
    assert_eq!(consent.since, Some(Date { year: 2025, month: 3, day: 1 }));
    assert!(!created.do_not_contact);
}

async fn do_not_contact_is_flagged_on_every_read(engine: Engine) {
    let mut app = app(engine).await;
    let created = create(
        &mut app.client,
        Contact {
            display_name: "Private Person".into(),
            consent: Some(Consent {
                do_not_contact: true,
                note: "Asked by letter to be left alone".into(),
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(created.do_not_contact);
    let get = app.client.get_contact(GetContactRequest { name: created.name.clone() }).ok().await;
    assert!(get.contact.unwrap().do_not_contact);
    let batch = app.client.batch_get_contacts(BatchGetContactsRequest { names: vec![created.name.clone()] }).ok().await;
    assert!(batch.contacts[0].do_not_contact);
    let parties = app.client.batch_get_parties(BatchGetPartiesRequest { names: vec![created.name.clone()] }).ok().await;
    match &parties.parties[0].party {
        Some(party::Party::Contact(contact)) => assert!(contact.do_not_contact),
        other => panic!("expected a contact, got {other:?}"),
    }
    let changes = all_changes(&mut app.client).await;
    let fed = <Contact as prost::Message>::decode(changes[0].resource.as_ref().unwrap().value.as_slice()).unwrap();
    assert!(fed.do_not_contact, "the change feed carries the flag too");
}

async fn contradictory_consent_and_hours_without_a_time_zone_are_rejected(engine: Engine) {
    let mut app = app(engine).await;
    let status = create(
        &mut app.client,
        Contact {
            display_name: "Contradiction".into(),
            consent: Some(Consent {
                do_not_contact: true,
                allowed_channels: vec![ContactChannel::Email as i32],
                basis: ConsentBasis::Consent as i32,
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(bad_fields(&status), ["contact.consent.allowed_channels"]);
    let status = create(
        &mut app.client,
        Contact {
            display_name: "No zone".into(),
            working_hours: vec![WorkingHours {
                day: Weekday::Tuesday as i32,
                start_time: "09:00".into(),
                end_time: "17:00".into(),
            }],
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(bad_fields(&status), ["contact.time_zone"]);
    let status = create(
        &mut app.client,
        Contact {
            display_name: "Overlap".into(),
            time_zone: "Europe/Paris".into(),
            working_hours: vec![
                WorkingHours { day: Weekday::Tuesday as i32, start_time: "09:00".into(), end_time: "12:00".into() },
                WorkingHours { day: Weekday::Tuesday as i32, start_time: "11:00".into(), end_time: "25:00".into() },
            ],
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(bad_fields(&status), ["contact.working_hours[1].end_time"]);
    assert!(all_changes(&mut app.client).await.is_empty());
}

async fn the_single_email_field_replaces_the_list_when_named_alone(engine: Engine) {
    let mut app = app(engine).await;
    let created = create(
        &mut app.client,
        Contact {
            display_name: "Mover".into(),
            emails: vec![email("old@x.org", ChannelType::Work, true), email("home@x.org", ChannelType::Home, false)],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let update = |paths: &[&str], contact: Contact| UpdateContactRequest {
        contact: Some(Contact { name: created.name.clone(), ..contact }),
        update_mask: Some(prost_types::FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() }),
    };
    let updated = app
        .client
        .update_contact(update(&["email"], Contact { email: "new@y.org".into(), ..Default::default() }))
        .ok()
        .await
        .contact
        .unwrap();
    assert_eq!(updated.emails, [email("new@y.org", ChannelType::Work, true)]);
    let updated = app.client.update_contact(update(&["emails"], Contact::default())).ok().await.contact.unwrap();
    assert!(updated.emails.is_empty() && updated.email.is_empty(), "an empty list clears the addresses");
}

async fn contacts_are_filtered_by_label_and_organization(engine: Engine) {
    let mut app = app(engine).await;
    let board = create(
        &mut app.client,
        Contact { display_name: "On board".into(), labels: vec!["board".into()], ..Default::default() },
    )
    .await
    .unwrap();
    // A label that merely contains "board" must not match.
    create(
        &mut app.client,
        Contact { display_name: "Sideboard".into(), labels: vec!["sideboard".into()], ..Default::default() },
    )
    .await
    .unwrap();
    let employee =
        create(&mut app.client, Contact { display_name: "Employee".into(), ..Default::default() }).await.unwrap();
    let organization = create_organization(&mut app.client, "Water Board").await;
    app.client
        .create_affiliation(CreateAffiliationRequest {
            affiliation: Some(Affiliation {
                contact: employee.name.clone(),
                organization: organization.name.clone(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap();
    let list = |request: ListContactsRequest| {
        let mut client = app.client.clone();
        async move {
            client
                .list_contacts(request)
                .await
                .map(|r| r.into_inner().contacts.into_iter().map(|c| c.name).collect::<Vec<_>>())
        }
    };
    assert_eq!(list(ListContactsRequest { label: "Board".into(), ..Default::default() }).await.unwrap(), [board.name]);
    // `_` is a label's own character, not LIKE's wildcard: `water_board` does not find `waterxboard`.
    let underscored = create(
        &mut app.client.clone(),
        Contact { display_name: "Underscored".into(), labels: vec!["water_board".into()], ..Default::default() },
    )
    .await
    .unwrap();
    create(
        &mut app.client.clone(),
        Contact { display_name: "Lookalike".into(), labels: vec!["waterxboard".into()], ..Default::default() },
    )
    .await
    .unwrap();
    assert_eq!(
        list(ListContactsRequest { label: "water_board".into(), ..Default::default() }).await.unwrap(),
        [underscored.name]
    );
    assert_eq!(
        list(ListContactsRequest { organization: organization.name.clone(), ..Default::default() }).await.unwrap(),
        [employee.name]
    );
    let status =
        list(ListContactsRequest { label: "not a label!".into(), organization: "orgs/1".into(), ..Default::default() })
            .await
            .unwrap_err();
    assert_eq!(bad_fields(&status), ["label", "organization"]);
}

async fn organizations_are_filtered_by_kind_label_and_parent(engine: Engine) {
    let mut app = app(engine).await;
    let create = |display_name: &str, kind: OrganizationKind, labels: &[&str], parent: &str| {
        let mut client = app.client.clone();
        let organization = Organization {
            display_name: display_name.into(),
            kind: kind as i32,
            labels: labels.iter().map(|l| (*l).to_owned()).collect(),
            parent: parent.into(),
            ..Default::default()
        };
        async move {
            client
                .create_organization(CreateOrganizationRequest {
                    organization: Some(organization),
                    request_id: String::new(),
                })
                .ok()
                .await
                .organization
                .unwrap()
        }
    };
    let agency = create("Environment Agency", OrganizationKind::Agency, &["water"], "").await;
    let department = create("Permits", OrganizationKind::Department, &["water", "permits"], &agency.name).await;
    let ngo = create("River Friends", OrganizationKind::Ngo, &["water"], "").await;
    let names = |request: ListOrganizationsRequest| {
        let mut client = app.client.clone();
        async move {
            client.list_organizations(request).ok().await.organizations.into_iter().map(|o| o.name).collect::<Vec<_>>()
        }
    };
    assert_eq!(
        names(ListOrganizationsRequest { kind: OrganizationKind::Ngo as i32, ..Default::default() }).await,
        [ngo.name]
    );
    assert_eq!(names(ListOrganizationsRequest { label: "water".into(), ..Default::default() }).await.len(), 3);
    assert_eq!(
        names(ListOrganizationsRequest { label: "permits".into(), ..Default::default() }).await,
        std::slice::from_ref(&department.name)
    );
    assert_eq!(
        names(ListOrganizationsRequest { parent: agency.name.clone(), ..Default::default() }).await,
        [department.name]
    );
    let status = app.client.list_organizations(ListOrganizationsRequest { kind: 99, ..Default::default() }).err().await;
    assert_eq!(bad_fields(&status), ["kind"]);
}

async fn a_filtered_page_token_is_refused_with_other_filters(engine: Engine) {
    let mut app = app(engine).await;
    for n in 0..3 {
        create(
            &mut app.client,
            Contact { display_name: format!("L{n}"), labels: vec!["l".into()], ..Default::default() },
        )
        .await
        .unwrap();
    }
    let first = app
        .client
        .list_contacts(ListContactsRequest { page_size: Some(2), label: "l".into(), ..Default::default() })
        .ok()
        .await;
    assert_eq!(first.contacts.len(), 2);
    let status = app
        .client
        .list_contacts(ListContactsRequest {
            page_size: Some(2),
            page_token: first.next_page_token,
            ..Default::default()
        })
        .err()
        .await;
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(bad_fields(&status), ["page_token"]);
}

async fn an_organization_keeps_its_postal_address_and_labels(engine: Engine) {
    let mut app = app(engine).await;
    let address = PostalAddress {
        address_lines: vec!["1 Quai de la Rapée".into()],
        locality: "Paris".into(),
        postal_code: "75012".into(),
        region_code: "fr".into(),
        ..Default::default()
    };
    let created = app
        .client
        .create_organization(CreateOrganizationRequest {
            organization: Some(Organization {
                display_name: "Mairie".into(),
                kind: OrganizationKind::GovernmentBody as i32,
                postal_address: Some(address.clone()),
                labels: vec!["City".into()],
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .ok()
        .await
        .organization
        .unwrap();
    assert_eq!(created.postal_address, Some(PostalAddress { region_code: "FR".into(), ..address }));
    assert_eq!(created.labels, ["city"]);
    let status = app
        .client
        .create_organization(CreateOrganizationRequest {
            organization: Some(Organization {
                display_name: "Nowhere".into(),
                kind: OrganizationKind::Other as i32,
                postal_address: Some(PostalAddress { locality: "Lyon".into(), ..Default::default() }),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .err()
        .await;
    assert_eq!(bad_fields(&status), ["organization.postal_address.region_code"]);
}
