//! `filter` and `order_by` on ListContacts and ListOrganizations: the documented grammar (docs/filtering.md),
//! pages that walk the chosen order without repeats, and bad input named field by field.
use crate::helpers::*;
use crate::organizations::create_organization;
use liaison_proto::contacts::v1::*;
use liaison_testkit::{Call, Engine, on_both_databases};

on_both_databases!(
    list_contacts_filters_and_pages_through_any_order_without_repeats,
    list_organizations_filters_and_orders_by_name,
    a_bad_filter_or_order_is_invalid_argument_naming_every_bad_field_and_the_position,
);

async fn add(client: &mut Client, display_name: &str, labels: &[&str], do_not_contact: bool) -> Contact {
    let consent = do_not_contact.then(|| Consent { do_not_contact: true, ..Default::default() });
    let contact =
        Contact { labels: labels.iter().map(|l| (*l).to_owned()).collect(), consent, ..contact(display_name) };
    create_given(client, contact).await
}

/// Every contact of a listing, page by page (`page_size` 2), with the number of pages.
async fn list_all(client: &mut Client, filter: &str, order_by: &str) -> (Vec<String>, usize) {
    let (mut names, mut pages, mut token) = (Vec::new(), 0, String::new());
    loop {
        let page = client
            .list_contacts(ListContactsRequest {
                page_size: Some(2),
                page_token: token,
                filter: filter.into(),
                order_by: order_by.into(),
                ..Default::default()
            })
            .ok()
            .await;
        pages += 1;
        names.extend(page.contacts.into_iter().map(|c| c.display_name));
        if page.next_page_token.is_empty() {
            return (names, pages);
        }
        token = page.next_page_token;
    }
}

async fn list_contacts_filters_and_pages_through_any_order_without_repeats(engine: Engine) {
    let mut app = app(engine).await;
    for (name, labels, dnc) in [
        ("Mina Stone", &["vip"][..], false),
        ("Ada Brook", &["vip", "press"][..], false),
        ("Zed Acre", &[][..], false),
        ("Lee Marsh", &["vip"][..], true),
        ("Ada Brook", &["press"][..], false),
    ] {
        add(&mut app.client, name, labels, dnc).await;
    }
    let (all, pages) = list_all(&mut app.client, "", "").await;
    assert_eq!(all, ["Mina Stone", "Ada Brook", "Zed Acre", "Lee Marsh", "Ada Brook"], "creation order by default");
    assert_eq!(pages, 3);
    let (by_name, _) = list_all(&mut app.client, "", "display_name").await;
    assert_eq!(by_name, ["Ada Brook", "Ada Brook", "Lee Marsh", "Mina Stone", "Zed Acre"]);
    let (by_name_desc, _) = list_all(&mut app.client, "", "display_name desc").await;
    assert_eq!(by_name_desc, ["Zed Acre", "Mina Stone", "Lee Marsh", "Ada Brook", "Ada Brook"]);
    let (newest_first, _) = list_all(&mut app.client, "", "create_time desc").await;
    assert_eq!(newest_first, ["Ada Brook", "Lee Marsh", "Zed Acre", "Ada Brook", "Mina Stone"]);
    let (vip, _) = list_all(&mut app.client, "labels:vip AND do_not_contact = false", "display_name").await;
    assert_eq!(vip, ["Ada Brook", "Mina Stone"]);
    let (either, _) = list_all(&mut app.client, "labels:press OR display_name = \"Zed Acre\"", "display_name").await;
    assert_eq!(either, ["Ada Brook", "Ada Brook", "Zed Acre"]);
    let (not_vip, _) = list_all(&mut app.client, "-labels:vip", "").await;
    assert_eq!(not_vip, ["Zed Acre", "Ada Brook"]);
    let (future, _) = list_all(&mut app.client, "create_time > \"2100-01-01T00:00:00Z\"", "").await;
    assert!(future.is_empty());
    let (recent, _) = list_all(&mut app.client, "update_time > \"2000-01-01T00:00:00Z\"", "update_time desc").await;
    assert_eq!(recent.len(), 5);
    // A token belongs to its filter and order.
    let first = app
        .client
        .list_contacts(ListContactsRequest {
            page_size: Some(2),
            order_by: "display_name".into(),
            ..Default::default()
        })
        .ok()
        .await;
    let status = app
        .client
        .list_contacts(ListContactsRequest {
            page_size: Some(2),
            page_token: first.next_page_token,
            order_by: "display_name desc".into(),
            ..Default::default()
        })
        .err()
        .await;
    assert_eq!(bad_fields(&status), ["page_token"]);
}

async fn list_organizations_filters_and_orders_by_name(engine: Engine) {
    let mut app = app(engine).await;
    for name in ["Port Authority", "Audit Office", "Water Board"] {
        create_organization(&mut app.client, name).await;
    }
    let listed = |response: ListOrganizationsResponse| -> Vec<String> {
        response.organizations.into_iter().map(|o| o.display_name).collect()
    };
    let by_name = app
        .client
        .list_organizations(ListOrganizationsRequest { order_by: "display_name".into(), ..Default::default() })
        .ok()
        .await;
    assert_eq!(listed(by_name), ["Audit Office", "Port Authority", "Water Board"]);
    let filtered = app
        .client
        .list_organizations(ListOrganizationsRequest {
            filter: "display_name != \"Audit Office\"".into(),
            order_by: "display_name desc".into(),
            ..Default::default()
        })
        .ok()
        .await;
    assert_eq!(listed(filtered), ["Water Board", "Port Authority"]);
}

async fn a_bad_filter_or_order_is_invalid_argument_naming_every_bad_field_and_the_position(engine: Engine) {
    let mut app = app(engine).await;
    let status = app
        .client
        .list_contacts(ListContactsRequest {
            page_size: Some(-1),
            filter: "labels:vip AND colour = red".into(),
            order_by: "age".into(),
            ..Default::default()
        })
        .err()
        .await;
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(bad_fields(&status), ["page_size", "filter", "order_by"]);
    let message = status.message();
    assert!(message.contains("at position 16: unknown field \"colour\""), "{message}");
    for (filter, expected) in [
        ("labels:vip AND", "at position 15"),
        ("display_name = \"Ada", "never closed"),
        ("labels:a AND labels:b OR labels:c", "mixed without parentheses"),
        ("do_not_contact = maybe", "at position 18"),
        ("create_time > yesterday", "at position 15"),
        ("display_name > 1 display_name < 2", "write AND"),
    ] {
        let status =
            app.client.list_contacts(ListContactsRequest { filter: filter.into(), ..Default::default() }).err().await;
        assert_eq!(bad_fields(&status), ["filter"], "{filter}");
        assert!(status.message().contains(expected), "{filter}: {}", status.message());
    }
    let status = app
        .client
        .list_contacts(ListContactsRequest { order_by: "display_name, update_time".into(), ..Default::default() })
        .err()
        .await;
    assert_eq!(bad_fields(&status), ["order_by"]);
}
