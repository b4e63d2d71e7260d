//! GetMediationPolicy and UpdateMediationPolicy.
use super::MediationApi;
use crate::domain::policy::Policy;
use crate::store::PolicyInForce;
use liaison_proto::mediation::v1::*;
use liaison_runtime::api::{etag, time::to_timestamp};
use liaison_runtime::{Error, Validate};

fn wire(policy: &PolicyInForce) -> MediationPolicy {
    MediationPolicy {
        // The built-in default was never written: it has no etag to guard against.
        etag: if policy.revision == 0 { String::new() } else { etag::render(policy.revision) },
        update_time: policy.update_time.map(to_timestamp),
        ..policy.policy.wire()
    }
}

impl MediationApi {
    pub(super) async fn get_policy(&self, _: GetMediationPolicyRequest) -> Result<GetMediationPolicyResponse, Error> {
        Ok(GetMediationPolicyResponse { policy: Some(wire(&self.store.policy().await?)) })
    }

    pub(super) async fn update_policy(
        &self,
        request: UpdateMediationPolicyRequest,
    ) -> Result<UpdateMediationPolicyResponse, Error> {
        let asked = request.policy.unwrap_or_default();
        let (policy, expected) =
            (Policy::parse(&asked), etag::parse_expected("policy.etag", &asked.etag)).validate()?;
        let stored = self.store.set_policy(policy, expected).await?;
        Ok(UpdateMediationPolicyResponse { policy: Some(wire(&stored)) })
    }
}
