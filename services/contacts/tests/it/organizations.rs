use crate::helpers::*;
use liaison_proto::contacts::v1::*;
use liaison_testkit::{Call, Engine, on_both_databases};
use tonic::Code;

pub async fn create_organization(client: &mut Client, display_name: &str) -> Organization {
    client
        .create_organization(CreateOrganizationRequest {
            organization: Some(Organization {
                display_name: display_name.into(),
                kind: OrganizationKind::Agency as i32,
                website: "https://example.org".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .ok()
        .await
        .organization
        .expect("organization")
}

on_both_databases!(organizations_have_every_standard_method, organizations_list_over_three_pages);

async fn organizations_have_every_standard_method(engine: Engine) {
    let mut app = app(engine).await;
    let created = create_organization(&mut app.client, "Water Agency").await;
    assert!(created.name.starts_with("organizations/"));
    let fetched = app
        .client
        .get_organization(GetOrganizationRequest { name: created.name.clone() })
        .ok()
        .await
        .organization
        .unwrap();
    assert_eq!(fetched, created);
    let updated = app
        .client
        .update_organization(UpdateOrganizationRequest {
            organization: Some(Organization {
                name: created.name.clone(),
                etag: created.etag.clone(),
                kind: OrganizationKind::GovernmentBody as i32,
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask { paths: vec!["kind".into()] }),
        })
        .ok()
        .await
        .organization
        .unwrap();
    assert_eq!(updated.kind, OrganizationKind::GovernmentBody as i32);
    assert_eq!(updated.display_name, "Water Agency");
    let status = app
        .client
        .update_organization(UpdateOrganizationRequest {
            organization: Some(Organization {
                name: created.name.clone(),
                website: "ftp://x".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask { paths: vec!["website".into()] }),
        })
        .err()
        .await;
    assert_eq!(bad_fields(&status), ["organization.website"]);
    app.client
        .delete_organization(DeleteOrganizationRequest { name: created.name.clone(), etag: updated.etag, force: false })
        .await
        .unwrap();
    let status = app.client.get_organization(GetOrganizationRequest { name: created.name.clone() }).err().await;
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(all_changes(&mut app.client).await.len(), 3);
}

async fn organizations_list_over_three_pages(engine: Engine) {
    let mut app = app(engine).await;
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(create_organization(&mut app.client, &format!("Org {i}")).await.name);
    }
    let mut listed = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = app
            .client
            .list_organizations(ListOrganizationsRequest {
                page_size: Some(2),
                page_token: token,
                ..Default::default()
            })
            .ok()
            .await;
        pages += 1;
        listed.extend(page.organizations.into_iter().map(|o| o.name));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!((pages, listed), (3, created));
}
