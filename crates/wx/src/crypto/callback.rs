//! One-call helpers for the callback hot path: URL verification (reference §1.7), verify +
//! decrypt of an encrypted push (§1.4, §1.6) and encryption of the passive reply into its
//! envelope (§1.3, §1.6).
//!
//! Freshness of `timestamp` and de-duplication of `nonce`/`MsgId` are the caller's job (this
//! module has no clock).

use super::CryptoError;
use super::envelope::{self, EnvelopeFormat, InboundEnvelope, ReplyEnvelope};
use super::msg_crypt::{Decrypted, MsgCrypt, RANDOM_LEN, random_prefix};
use super::query::CallbackQuery;
use super::signature::verify_signature;

/// Checks the plain-mode `signature` of a callback query (SHA-1 over Token, `timestamp`,
/// `nonce`; reference §1.2). Used for OA/MP URL verification and plain-mode POSTs.
///
/// # Errors
/// [`CryptoError::MissingParameter`] or [`CryptoError::ValidateSignature`] (-40001).
pub fn verify_plain_query(token: &str, query: &CallbackQuery<'_>) -> Result<(), CryptoError> {
    verify_signature(
        token,
        query.require_timestamp()?,
        query.require_nonce()?,
        query.require_signature()?,
    )
}

/// Official Account / Mini Program URL verification (GET, all modes; reference §1.7):
/// checks `signature` and returns `echostr` unchanged, to be sent back as the plain-text
/// response body.
///
/// # Errors
/// [`CryptoError::MissingParameter`] or [`CryptoError::ValidateSignature`] (-40001).
pub fn verify_oa_url<'q>(
    token: &str,
    query: &'q CallbackQuery<'_>,
) -> Result<&'q str, CryptoError> {
    let echostr = query.require_echostr()?;
    verify_plain_query(token, query)?;
    Ok(echostr)
}

/// The result of [`MsgCrypt::decrypt_callback`]: the envelope fields (borrowed from the body)
/// and the decrypted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecryptedCallback<'b> {
    /// `ToUserName`, `Encrypt` and `AgentID` of the envelope.
    pub envelope: InboundEnvelope<'b>,
    /// The decrypted message and the receive id found.
    pub message: Decrypted,
}

impl MsgCrypt {
    /// Official Account / Mini Program URL verification with this configuration's Token;
    /// see [`verify_oa_url`].
    ///
    /// # Errors
    /// As [`verify_oa_url`].
    pub fn verify_oa_url<'q>(&self, query: &'q CallbackQuery<'_>) -> Result<&'q str, CryptoError> {
        verify_oa_url(self.token(), query)
    }

    /// WeCom URL verification (GET; self-built, third-party and 代开发 apps; reference §1.7):
    /// verifies `msg_signature` over (Token, `timestamp`, `nonce`, `echostr`), decrypts
    /// `echostr` and applies the receive-id policy. Respond with
    /// [`Decrypted::message`] as the body, with no quotes, BOM or newline.
    ///
    /// Why the policy matters here: for third-party apps WeCom encrypts the verification
    /// echostr with the provider's own CorpID, not the SuiteID (reference §1.1).
    ///
    /// # Errors
    /// [`CryptoError::MissingParameter`] / [`CryptoError::ValidateSignature`] (-40001), then
    /// the errors of [`MsgCrypt::decrypt`].
    pub fn verify_wecom_url(&self, query: &CallbackQuery<'_>) -> Result<Decrypted, CryptoError> {
        let echostr = query.require_echostr()?;
        self.verify_and_decrypt(
            query.require_msg_signature()?,
            query.require_timestamp()?,
            query.require_nonce()?,
            echostr,
        )
    }

    /// The hot path of an encrypted push (POST): parses the body (XML, or JSON when it starts
    /// with `{`), verifies `msg_signature` over its `Encrypt`, decrypts in place and applies
    /// the receive-id policy.
    ///
    /// OA safe/compatible-mode queries also carry a plain `signature`; it is not checked
    /// here because `msg_signature` already covers the Token, timestamp, nonce and the
    /// ciphertext.
    ///
    /// # Errors
    /// [`CryptoError::MissingParameter`] (-40001), [`CryptoError::ParseXml`] /
    /// [`CryptoError::ParseJson`] (-40002), [`CryptoError::ValidateSignature`] (-40001), then
    /// the errors of [`MsgCrypt::decrypt`].
    pub fn decrypt_callback<'b>(
        &self,
        query: &CallbackQuery<'_>,
        body: &'b [u8],
    ) -> Result<DecryptedCallback<'b>, CryptoError> {
        let msg_signature = query.require_msg_signature()?;
        let timestamp = query.require_timestamp()?;
        let nonce = query.require_nonce()?;
        let envelope = InboundEnvelope::parse(body)?;
        let message =
            self.verify_and_decrypt(msg_signature, timestamp, nonce, &envelope.encrypt)?;
        Ok(DecryptedCallback { envelope, message })
    }

    /// Encrypts a passive reply for `receive_id` and wraps it in the reply envelope with a
    /// fresh `msg_signature` over the given `timestamp` and `nonce` (reference §1.6; they may
    /// be reused from the request or freshly generated). The random prefix comes from the
    /// thread-local CSPRNG.
    ///
    /// Use the receive id of the request ([`Decrypted::receive_id`]) for `receive_id`.
    ///
    /// # Errors
    /// [`CryptoError::EncryptAes`] (-40006) if `reply` is 4 GiB or longer.
    pub fn encrypt_reply(
        &self,
        format: EnvelopeFormat,
        reply: &[u8],
        receive_id: &str,
        timestamp: &str,
        nonce: &str,
    ) -> Result<String, CryptoError> {
        let random = random_prefix(&mut rand::rng());
        self.encrypt_reply_with_random(&random, format, reply, receive_id, timestamp, nonce)
    }

    /// [`encrypt_reply`](Self::encrypt_reply) with a caller-supplied random prefix
    /// (deterministic, for tests).
    ///
    /// # Errors
    /// [`CryptoError::EncryptAes`] (-40006) if `reply` is 4 GiB or longer.
    pub fn encrypt_reply_with_random(
        &self,
        random: &[u8; RANDOM_LEN],
        format: EnvelopeFormat,
        reply: &[u8],
        receive_id: &str,
        timestamp: &str,
        nonce: &str,
    ) -> Result<String, CryptoError> {
        // One output buffer: the ciphertext is base64-encoded straight into the envelope and
        // signed where it lies.
        // (Saturating: absurd sizes are rejected by `encrypt_append`, not by this estimate.)
        let padded = (RANDOM_LEN + 4 + 32)
            .saturating_add(reply.len())
            .saturating_add(receive_id.len());
        let capacity = (padded / 3 * 4 + 4)
            .saturating_add(160)
            .saturating_add(timestamp.len() + nonce.len());
        let mut out = String::with_capacity(capacity);
        let start = envelope::begin_reply(format, &mut out);
        self.encrypt_append(random, reply, receive_id, &mut out)?;
        let signature = self.msg_signature(timestamp, nonce, &out[start..]);
        envelope::finish_reply(format, &mut out, signature.as_str(), timestamp, nonce);
        Ok(out)
    }

    /// Verifies and decrypts a reply envelope (the WeChat side of a passive reply: for
    /// simulators and tests).
    ///
    /// # Errors
    /// [`CryptoError::ParseXml`] / [`CryptoError::ParseJson`] (-40002),
    /// [`CryptoError::ValidateSignature`] (-40001), then the errors of
    /// [`MsgCrypt::decrypt`].
    pub fn decrypt_reply(&self, body: &[u8]) -> Result<Decrypted, CryptoError> {
        let reply = ReplyEnvelope::parse(body)?;
        self.verify_and_decrypt(
            &reply.msg_signature,
            &reply.timestamp,
            &reply.nonce,
            &reply.encrypt,
        )
    }
}
