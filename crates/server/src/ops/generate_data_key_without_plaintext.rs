//! GenerateDataKeyWithoutPlaintext: GenerateDataKey that answers only the sealed data key
//! (for a party that will decrypt it later).

use super::generate_data_key::{DataKeyParams, DataKeyResolved, generate};
use super::shared::KMS;
use crate::action::AuditFacts;
use crate::action::{Call, Operation, Product, Reply};
use crate::auth::Caller;
use crate::authz::Target;
use crate::error::ApiError;
use crate::kms::Kms;
use crate::request::ApiRequest;

/// GenerateDataKeyWithoutPlaintext.
pub struct GenerateDataKeyWithoutPlaintext(DataKeyParams);

impl Operation for GenerateDataKeyWithoutPlaintext {
    const PRODUCT: Product = KMS;
    const NAME: &'static str = "GenerateDataKeyWithoutPlaintext";
    const DRY_RUN: bool = true;
    type Resolved = DataKeyResolved;

    fn parse(req: &ApiRequest) -> Result<Self, ApiError> {
        DataKeyParams::parse(req).map(Self)
    }

    async fn resolve(self, kms: &Kms, _: &Caller) -> Result<DataKeyResolved, ApiError> {
        self.0.resolve(kms).await
    }

    fn targets(r: &DataKeyResolved, kms: &Kms) -> Vec<Target> {
        r.targets(kms)
    }

    fn audit(r: &DataKeyResolved, facts: &mut AuditFacts) {
        r.audit(facts);
    }

    async fn run(r: DataKeyResolved, call: &Call<'_>) -> Result<Reply, ApiError> {
        generate(r, call, false).await
    }
}
