//! Credentials: user passwords, session tokens and agent keys.
//!
//! - Passwords: argon2id (slow on purpose; humans pick guessable secrets).
//! - Sessions: HS256 JWTs signed with a per-installation secret kept in the
//!   store. Only HS256 is accepted, so `alg: none` and algorithm-confusion
//!   tokens fail verification.
//! - Agent keys: `lxk_<key id>.<secret>`; the key id is public and indexes the
//!   row, the 256-bit secret is stored as its SHA-256 digest and compared in
//!   constant time. A slow hash adds nothing for a random 256-bit secret and
//!   would cost milliseconds on every agent request.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use lxmon_store::{Role, TenantId, UserId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const AGENT_KEY_PREFIX: &str = "lxk_";

/// Fills a buffer from the OS random source.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).expect("OS random source available");
    buf
}

pub fn hash_password(password: &str) -> String {
    let salt = SaltString::encode_b64(&random_bytes::<16>()).expect("16 bytes is a valid salt");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters")
        .to_string()
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A password for the first `admin`, printed once.
pub fn generate_password() -> String {
    B64.encode(random_bytes::<15>())
}

/// A freshly made agent key: the full key (shown once) and what is stored.
pub struct NewAgentKey {
    pub full_key: String,
    pub key_id: String,
    pub secret_sha256: [u8; 32],
}

pub fn generate_agent_key() -> NewAgentKey {
    let key_id: String = random_bytes::<8>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let secret = B64.encode(random_bytes::<32>());
    NewAgentKey {
        full_key: format!("{AGENT_KEY_PREFIX}{key_id}.{secret}"),
        secret_sha256: Sha256::digest(secret.as_bytes()).into(),
        key_id,
    }
}

/// Splits a presented key into its id and secret; `None` if it is not shaped
/// like an lxmon agent key.
pub fn parse_agent_key(key: &str) -> Option<(&str, &str)> {
    let rest = key.strip_prefix(AGENT_KEY_PREFIX)?;
    let (id, secret) = rest.split_once('.')?;
    (id.len() == 16
        && id.bytes().all(|b| b.is_ascii_hexdigit())
        && !secret.is_empty()
        && secret.len() <= 64)
        .then_some((id, secret))
}

/// Constant-time check of a presented secret against the stored digest.
pub fn agent_secret_matches(secret: &str, stored_sha256: &[u8; 32]) -> bool {
    let digest: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
    digest.ct_eq(stored_sha256).into()
}

/// What a session token asserts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: UserId,
    pub tenant: TenantId,
    pub role: Role,
    pub name: String,
    pub iat: i64,
    pub exp: i64,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TokenError {
    #[error("malformed token")]
    Malformed,
    #[error("unsupported token algorithm")]
    Algorithm,
    #[error("bad token signature")]
    Signature,
    #[error("token expired")]
    Expired,
}

/// Signs and verifies session tokens.
#[derive(Clone)]
pub struct SessionKeys {
    secret: Vec<u8>,
}

const JWT_HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

impl SessionKeys {
    pub fn new(secret: Vec<u8>) -> SessionKeys {
        SessionKeys { secret }
    }

    fn mac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes any key length")
    }

    pub fn issue(&self, claims: &Claims) -> String {
        let header = B64.encode(JWT_HEADER);
        let payload = B64.encode(serde_json::to_vec(claims).expect("claims serialize"));
        let signing_input = format!("{header}.{payload}");
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        let signature = B64.encode(mac.finalize().into_bytes());
        format!("{signing_input}.{signature}")
    }

    pub fn verify(&self, token: &str, now_s: i64) -> Result<Claims, TokenError> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        #[derive(Deserialize)]
        struct Header {
            alg: String,
        }
        let header_json = B64.decode(header).map_err(|_| TokenError::Malformed)?;
        let parsed: Header =
            serde_json::from_slice(&header_json).map_err(|_| TokenError::Malformed)?;
        if parsed.alg != "HS256" {
            return Err(TokenError::Algorithm);
        }
        let signature = B64.decode(signature).map_err(|_| TokenError::Malformed)?;
        let mut mac = self.mac();
        mac.update(header.as_bytes());
        mac.update(b".");
        mac.update(payload.as_bytes());
        mac.verify_slice(&signature)
            .map_err(|_| TokenError::Signature)?;
        let claims: Claims =
            serde_json::from_slice(&B64.decode(payload).map_err(|_| TokenError::Malformed)?)
                .map_err(|_| TokenError::Malformed)?;
        if claims.exp <= now_s {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            sub: 1,
            tenant: 1,
            role: Role::PlatformAdmin,
            name: "admin".into(),
            iat: 0,
            exp,
        }
    }

    #[test]
    fn passwords() {
        let h = hash_password("correct horse");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn agent_keys() {
        let k = generate_agent_key();
        let (id, secret) = parse_agent_key(&k.full_key).unwrap();
        assert_eq!(id, k.key_id);
        assert!(agent_secret_matches(secret, &k.secret_sha256));
        assert!(!agent_secret_matches("other", &k.secret_sha256));
        assert!(parse_agent_key("lxk_short.x").is_none());
        assert!(parse_agent_key("Bearer nonsense").is_none());
    }

    #[test]
    fn tokens() {
        let keys = SessionKeys::new(b"secret".to_vec());
        let token = keys.issue(&claims(2000));
        assert_eq!(keys.verify(&token, 1000).unwrap(), claims(2000));
        assert_eq!(keys.verify(&token, 2000), Err(TokenError::Expired));
        assert_eq!(
            SessionKeys::new(b"other".to_vec()).verify(&token, 1000),
            Err(TokenError::Signature)
        );
        // alg: none with no signature, and a tampered payload.
        let payload = token.split('.').nth(1).unwrap();
        let none = format!("{}.{payload}.", B64.encode(r#"{"alg":"none","typ":"JWT"}"#));
        assert_eq!(keys.verify(&none, 1000), Err(TokenError::Algorithm));
        let forged_payload = B64.encode(serde_json::to_vec(&claims(9999)).unwrap());
        let sig = token.split('.').nth(2).unwrap();
        let forged = format!(
            "{}.{forged_payload}.{sig}",
            token.split('.').next().unwrap()
        );
        assert_eq!(keys.verify(&forged, 1000), Err(TokenError::Signature));
        assert_eq!(keys.verify("a.b", 1000), Err(TokenError::Malformed));
    }
}
