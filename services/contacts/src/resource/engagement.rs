//! How stored assessments and interactions look on the wire and in the change feed.
use crate::domain::engagement::Quadrant;
use crate::store::entity::{assessment, interaction};
use liaison_proto::contacts::v1::{Assessment, FollowUp, Interaction, Quadrant as WireQuadrant};
use liaison_runtime::api::etag;
use liaison_runtime::api::time::to_timestamp;

super::resource! {
    assessment::Model => Assessment, assessment_name, assessment;
}

pub fn assessment_name(id: &str) -> String {
    format!("assessments/{id}")
}

pub fn interaction_name(id: &str) -> String {
    format!("interactions/{id}")
}

pub fn assessment(model: &assessment::Model) -> Assessment {
    Assessment {
        name: assessment_name(&model.id),
        party: model.party.clone(),
        assessment_date: super::date(Some(&model.assessment_date)),
        influence: model.influence,
        interest: model.interest,
        impact: model.impact,
        comment: model.comment.clone(),
        quadrant: Quadrant::from_value(model.quadrant).map_or(WireQuadrant::Unspecified, Quadrant::to_wire) as i32,
        create_time: Some(to_timestamp(model.create_time)),
    }
}

/// An interaction with its participants (in their order).
pub fn interaction(model: &interaction::Model, participants: &[String]) -> Interaction {
    Interaction {
        name: interaction_name(&model.id),
        channel: model.channel,
        direction: model.direction,
        occur_time: Some(to_timestamp(model.occur_time)),
        participants: participants.to_vec(),
        subject: model.subject.clone(),
        summary: model.summary.clone(),
        sentiment: model.sentiment,
        follow_up: model.follow_up_due_date.as_deref().map(|due| FollowUp {
            action: model.follow_up_action.clone(),
            owner: model.follow_up_owner.clone(),
            due_date: super::date(Some(due)),
            done: model.follow_up_done,
        }),
        links: super::from_json(&model.links),
        etag: etag::render(model.revision),
        create_time: Some(to_timestamp(model.create_time)),
        update_time: Some(to_timestamp(model.update_time)),
    }
}
