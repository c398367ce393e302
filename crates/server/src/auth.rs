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

/// The kinds of bearer secret lxmon issues, each `<prefix><16 hex id>.<secret>`:
/// the id is public and indexes the row, only the secret's SHA-256 is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    AgentKey,
    EnrollmentToken,
    Invite,
}

impl SecretKind {
    fn prefix(self) -> &'static str {
        match self {
            SecretKind::AgentKey => "lxk_",
            SecretKind::EnrollmentToken => "lxe_",
            SecretKind::Invite => "lxi_",
        }
    }
}

/// A freshly made secret: the full value (shown once) and what is stored.
pub struct NewSecret {
    pub full: String,
    pub id: String,
    pub secret_sha256: [u8; 32],
}

/// Makes a secret whose public id is `id` (random when `None`).
pub fn generate_secret(kind: SecretKind, id: Option<String>) -> NewSecret {
    let id = id.unwrap_or_else(|| {
        random_bytes::<8>()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    });
    let secret = B64.encode(random_bytes::<32>());
    NewSecret {
        full: format!("{}{id}.{secret}", kind.prefix()),
        secret_sha256: sha256(&secret),
        id,
    }
}

/// A new agent key with a random id.
pub fn generate_agent_key() -> NewSecret {
    generate_secret(SecretKind::AgentKey, None)
}

/// Splits a presented secret into its id and secret part; `None` if it is not
/// shaped like one of `kind`.
pub fn parse_secret(kind: SecretKind, value: &str) -> Option<(&str, &str)> {
    let rest = value.strip_prefix(kind.prefix())?;
    let (id, secret) = rest.split_once('.')?;
    (!id.is_empty()
        && id.len() <= 32
        && id.bytes().all(|b| b.is_ascii_alphanumeric())
        && !secret.is_empty()
        && secret.len() <= 64)
        .then_some((id, secret))
}

pub fn parse_agent_key(key: &str) -> Option<(&str, &str)> {
    parse_secret(SecretKind::AgentKey, key)
}

pub fn sha256(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// Constant-time check of a presented secret against the stored digest.
pub fn secret_matches(secret: &str, stored_sha256: &[u8; 32]) -> bool {
    sha256(secret).ct_eq(stored_sha256).into()
}

pub fn agent_secret_matches(secret: &str, stored_sha256: &[u8; 32]) -> bool {
    secret_matches(secret, stored_sha256)
}

/// RFC 6238 time-based one-time passwords (SHA-1, 6 digits, 30 s steps, as
/// every authenticator app expects), with one step of clock skew allowed.
pub mod totp {
    use hmac::{Hmac, Mac};

    const STEP_S: i64 = 30;

    fn code_at(secret: &[u8], counter: u64) -> u32 {
        let mut mac =
            Hmac::<sha1::Sha1>::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(&counter.to_be_bytes());
        let hash = mac.finalize().into_bytes();
        let offset = (hash[19] & 0x0f) as usize;
        let value = u32::from_be_bytes([
            hash[offset] & 0x7f,
            hash[offset + 1],
            hash[offset + 2],
            hash[offset + 3],
        ]);
        value % 1_000_000
    }

    /// The code for `unix_s`, as six digits.
    pub fn code(secret: &[u8], unix_s: i64) -> String {
        format!("{:06}", code_at(secret, (unix_s / STEP_S) as u64))
    }

    /// Accepts the current code or one step either side.
    pub fn verify(secret: &[u8], code: &str, unix_s: i64) -> bool {
        let code = code.trim();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        let step = unix_s / STEP_S;
        (step - 1..=step + 1).any(|s| s >= 0 && self::code(secret, s * STEP_S) == code)
    }

    /// RFC 4648 base32 without padding, the form authenticator apps take.
    pub fn base32(bytes: &[u8]) -> String {
        const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let mut out = String::new();
        let (mut buffer, mut bits) = (0u32, 0);
        for &b in bytes {
            buffer = (buffer << 8) | u32::from(b);
            bits += 8;
            while bits >= 5 {
                out.push(ALPHABET[((buffer >> (bits - 5)) & 31) as usize] as char);
                bits -= 5;
            }
        }
        if bits > 0 {
            out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
        }
        out
    }

    /// Decodes [`base32`] (case-insensitive, padding ignored).
    pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        let (mut buffer, mut bits) = (0u32, 0);
        for c in text.bytes().filter(|c| *c != b'=') {
            let v = match c.to_ascii_uppercase() {
                c @ b'A'..=b'Z' => c - b'A',
                c @ b'2'..=b'7' => c - b'2' + 26,
                _ => return None,
            };
            buffer = (buffer << 5) | u32::from(v);
            bits += 5;
            if bits >= 8 {
                out.push((buffer >> (bits - 8)) as u8);
                bits -= 8;
            }
        }
        Some(out)
    }

    /// `otpauth://` URI for QR codes.
    pub fn provisioning_uri(secret: &[u8], username: &str) -> String {
        let user: String = username
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        format!(
            "otpauth://totp/lxmon:{user}?secret={}&issuer=lxmon&algorithm=SHA1&digits=6&period=30",
            base32(secret)
        )
    }
}

/// Ten one-time recovery codes (shown once) and their digests (stored).
pub fn recovery_codes() -> (Vec<String>, Vec<String>) {
    let codes: Vec<String> = (0..10)
        .map(|_| {
            let b = random_bytes::<5>();
            totp::base32(&b).to_lowercase()
        })
        .collect();
    let digests = codes.iter().map(|c| hex(&sha256(c))).collect();
    (codes, digests)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a session token asserts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: UserId,
    /// The user's session epoch at issue; a token from an older epoch
    /// (password changed, user disabled, role changed) is refused.
    pub epoch: i64,
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
            epoch: 0,
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
    fn totp_matches_rfc6238_vectors() {
        // RFC 6238 appendix B, SHA-1 secret "12345678901234567890" (last 6 digits).
        let secret = b"12345678901234567890";
        for (t, expected) in [
            (59, "287082"),
            (1111111109, "081804"),
            (1111111111, "050471"),
            (1234567890, "005924"),
            (2000000000, "279037"),
        ] {
            assert_eq!(totp::code(secret, t), expected, "t={t}");
        }
        assert!(totp::verify(secret, "287082", 59));
        assert!(
            totp::verify(secret, "287082", 59 + 30),
            "one step of skew is accepted"
        );
        assert!(!totp::verify(secret, "287082", 59 + 90));
        assert!(!totp::verify(secret, "28708", 59));
        assert_eq!(totp::base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(totp::base32_decode("MZXW6YTBOI").unwrap(), b"foobar");
    }

    #[test]
    fn agent_keys() {
        let k = generate_agent_key();
        let (id, secret) = parse_agent_key(&k.full).unwrap();
        assert_eq!(id, k.id);
        assert!(agent_secret_matches(secret, &k.secret_sha256));
        assert!(!agent_secret_matches("other", &k.secret_sha256));
        assert!(
            parse_agent_key("lxe_short.x").is_none(),
            "another kind's prefix"
        );
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
