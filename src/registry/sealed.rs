//! An account's secrets sealed one field at a time with KMS `Encrypt`, the
//! account id and the field's name as encryption context.
//!
//! Why per field, with a context, rather than one Secrets Manager secret per
//! account: a secret costs $0.40 a month, $4,000 a month at 10,000 accounts;
//! a KMS key is $1 a month for all of them. The context binds each blob to
//! its place: KMS opens a blob only with the context it was sealed with, so
//! a `tokens` blob copied into another account's item, or into the
//! `credential` attribute, does not open, and can never authenticate that
//! account's notifications or sign in as it.

use super::RegistryError;
use crate::change::AccountId;
use crate::sink::aws::one_line;
use aws_sdk_kms::primitives::Blob;
use std::collections::HashMap;

/// KMS `Encrypt` takes at most 4,096 bytes of plaintext.
pub const MAX_PLAINTEXT_BYTES: usize = 4096;

/// Which secret of an account: the attribute holding it, and its context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The customer's JWT credential.
    Credential,
    /// The verification tokens, as the token secret's JSON text.
    Tokens,
}

impl Field {
    /// The attribute's name and the context's `field` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Credential => "credential",
            Field::Tokens => "tokens",
        }
    }
}

/// KMS, with the stack's key when this process may seal.
#[derive(Debug, Clone)]
pub struct Sealer {
    kms: aws_sdk_kms::Client,
    /// `None` in the relay, which only opens: Decrypt reads the key from the blob.
    key_id: Option<String>,
}

impl Sealer {
    pub fn new(kms: aws_sdk_kms::Client, key_id: Option<String>) -> Self {
        Self { kms, key_id }
    }

    pub async fn seal(&self, account: &AccountId, field: Field, plaintext: &[u8]) -> Result<Blob, RegistryError> {
        let refused = |detail: String| sealing(account, field, "sealed", detail);
        let key_id = self.key_id.as_deref().ok_or_else(|| {
            refused("no KMS key to seal with (ACCOUNTS_KEY_ID is not set): this registry only reads".to_owned())
        })?;
        if plaintext.len() > MAX_PLAINTEXT_BYTES {
            return Err(refused(format!(
                "it is {} bytes, and KMS seals at most {MAX_PLAINTEXT_BYTES}",
                plaintext.len()
            )));
        }
        let answer = self
            .kms
            .encrypt()
            .key_id(key_id)
            .plaintext(Blob::new(plaintext))
            .set_encryption_context(Some(context(account, field)))
            .send()
            .await
            .map_err(|e| refused(one_line(&e)))?;
        answer
            .ciphertext_blob
            .ok_or_else(|| refused("KMS answered without a ciphertext".to_owned()))
    }

    /// The plaintext, only if `sealed` was sealed for this account and field.
    pub async fn open(&self, account: &AccountId, field: Field, sealed: &Blob) -> Result<Vec<u8>, RegistryError> {
        let refused = |detail: String| sealing(account, field, "opened", detail);
        let answer = self
            .kms
            .decrypt()
            .ciphertext_blob(sealed.clone())
            .set_encryption_context(Some(context(account, field)))
            .send()
            .await
            .map_err(|e| refused(one_line(&e)))?;
        answer
            .plaintext
            .map(Blob::into_inner)
            .ok_or_else(|| refused("KMS answered without a plaintext".to_owned()))
    }
}

/// The encryption context: KMS authenticates it with the ciphertext.
fn context(account: &AccountId, field: Field) -> HashMap<String, String> {
    HashMap::from([
        ("accountId".to_owned(), account.as_str().to_owned()),
        ("field".to_owned(), field.as_str().to_owned()),
    ])
}

pub(super) fn sealing(account: &AccountId, field: Field, action: &'static str, detail: String) -> RegistryError {
    RegistryError::Sealing {
        account: account.clone(),
        field: field.as_str(),
        action,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer(key_id: Option<&str>) -> Sealer {
        // Never reached: both refusals come before any call.
        let conf = aws_sdk_kms::Config::builder()
            .behavior_version(aws_sdk_kms::config::BehaviorVersion::latest())
            .region(aws_sdk_kms::config::Region::new("us-east-1"))
            .endpoint_url("http://127.0.0.1:9")
            .build();
        Sealer::new(aws_sdk_kms::Client::from_conf(conf), key_id.map(str::to_owned))
    }

    fn account() -> AccountId {
        AccountId::parse("51234567").unwrap()
    }

    #[test]
    fn the_context_names_the_account_and_the_field() {
        let context = context(&account(), Field::Tokens);
        assert_eq!(context.len(), 2);
        assert_eq!(context["accountId"], "51234567");
        assert_eq!(context["field"], "tokens");
        assert_eq!(Field::Credential.as_str(), "credential");
    }

    #[tokio::test]
    async fn without_a_key_nothing_is_sealed() {
        let e = sealer(None)
            .seal(&account(), Field::Credential, b"eyJ.jwt.sig")
            .await
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "account 51234567's credential cannot be sealed: no KMS key to seal with (ACCOUNTS_KEY_ID is not set): this registry only reads"
        );
    }

    #[tokio::test]
    async fn more_than_kms_takes_is_refused_before_asking_it() {
        let e = sealer(Some("alias/stack"))
            .seal(&account(), Field::Credential, &[b'x'; 4097])
            .await
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "account 51234567's credential cannot be sealed: it is 4097 bytes, and KMS seals at most 4096"
        );
    }
}
