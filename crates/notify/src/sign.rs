//! HMAC-SHA256 signatures of webhook bodies (`X-Lxmon-Signature`), also
//! usable to check incoming GitHub-style `X-Hub-Signature-256` values.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The header carrying [`sign`]'s value on generic webhooks.
pub const SIGNATURE_HEADER: &str = "X-Lxmon-Signature";

const PREFIX: &str = "sha256=";

/// `"sha256=<lowercase hex HMAC-SHA256(secret, body)>"`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    let mut out = String::with_capacity(PREFIX.len() + 64);
    out.push_str(PREFIX);
    for b in tag {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Whether `header` is `"sha256=<hex>"` with the right HMAC-SHA256 of `body`
/// under `secret`. The hex may be upper or lower case; surrounding spaces are
/// ignored; anything else malformed is rejected. The MAC comparison is in
/// constant time.
pub fn verify(secret: &[u8], body: &[u8], header: &str) -> bool {
    let header = header.trim();
    let Some(hex) = header
        .get(..PREFIX.len())
        .filter(|p| p.eq_ignore_ascii_case(PREFIX))
        .map(|_| &header[PREFIX.len()..])
    else {
        return false;
    };
    let Some(tag) = decode_hex32(hex) else {
        return false;
    };
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.verify_slice(&tag).is_ok()
}

fn decode_hex32(s: &str) -> Option<[u8; 32]> {
    let b = s.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in b.chunks_exact(2).enumerate() {
        out[i] = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(out)
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_test_case_2() {
        // Key "Jefe", data "what do ya want for nothing?".
        let expected = "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert_eq!(sign(b"Jefe", b"what do ya want for nothing?"), expected);
        assert!(verify(b"Jefe", b"what do ya want for nothing?", expected));
    }

    #[test]
    fn rfc4231_test_case_1_and_long_key() {
        // Test case 1: 20 bytes of 0x0b, "Hi There".
        assert_eq!(
            sign(&[0x0b; 20], b"Hi There"),
            "sha256=b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        // Test case 6: a 131-byte key (longer than the block size).
        assert_eq!(
            sign(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            ),
            "sha256=60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn verify_rejects_wrong_and_malformed() {
        let body = b"{\"a\":1}";
        let good = sign(b"k", body);
        assert!(verify(b"k", body, &good));
        assert!(verify(b"k", body, &good.to_uppercase()));
        assert!(verify(b"k", body, &format!("  {good} ")));
        assert!(!verify(b"other", body, &good));
        assert!(!verify(b"k", b"{\"a\":2}", &good));
        let hex = &good[7..];
        for bad in [
            String::new(),
            "sha256=".into(),
            hex.to_owned(),
            format!("sha1={hex}"),
            format!("sha256={}", &hex[..63]),
            format!("sha256={hex}0"),
            format!("sha256={}g", &hex[..63]),
            format!("sha256= {hex}"),
            format!("sha256={hex}\n{hex}"),
            "sha256=é".into(),
        ] {
            assert!(!verify(b"k", body, &bad), "{bad:?} accepted");
        }
    }

    #[test]
    fn github_style_signature() {
        // GitHub's documented example: secret "It's a Secret to Everybody",
        // payload "Hello, World!".
        assert!(verify(
            b"It's a Secret to Everybody",
            b"Hello, World!",
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        ));
    }
}
