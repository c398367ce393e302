//! Just enough DER to read a certificate's `notAfter`:
//! `Certificate → tbsCertificate → validity → notAfter`.

/// One TLV: its tag and contents, and what follows it.
fn tlv(input: &[u8]) -> Result<(u8, &[u8], &[u8]), &'static str> {
    let (&tag, rest) = input.split_first().ok_or("truncated DER")?;
    if tag & 0x1f == 0x1f {
        return Err("multi-byte DER tags are not expected here");
    }
    let (&first, rest) = rest.split_first().ok_or("truncated DER length")?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return Err("bad DER length");
        }
        let len = rest[..n].iter().fold(0usize, |a, &b| (a << 8) | b as usize);
        (len, &rest[n..])
    };
    if rest.len() < len {
        return Err("DER value runs past its end");
    }
    Ok((tag, &rest[..len], &rest[len..]))
}

const SEQUENCE: u8 = 0x30;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// The leaf certificate's `notAfter` in seconds since the Unix epoch.
pub(crate) fn not_after(cert: &[u8]) -> Result<i64, &'static str> {
    let (tag, certificate, _) = tlv(cert)?;
    if tag != SEQUENCE {
        return Err("certificate is not a SEQUENCE");
    }
    let (tag, tbs, _) = tlv(certificate)?;
    if tag != SEQUENCE {
        return Err("tbsCertificate is not a SEQUENCE");
    }
    let mut rest = tbs;
    // [0] EXPLICIT version, absent for v1 certificates.
    if rest.first() == Some(&0xa0) {
        rest = tlv(rest)?.2;
    }
    // serialNumber, signature AlgorithmIdentifier, issuer Name.
    for _ in 0..3 {
        rest = tlv(rest)?.2;
    }
    let (tag, validity, _) = tlv(rest)?;
    if tag != SEQUENCE {
        return Err("validity is not a SEQUENCE");
    }
    let (_, _, after_not_before) = tlv(validity)?;
    let (tag, time, _) = tlv(after_not_before)?;
    parse_time(tag, time)
}

fn digits(s: &[u8]) -> Result<i64, &'static str> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return Err("bad digits in certificate time");
    }
    Ok(s.iter().fold(0i64, |a, &b| a * 10 + (b - b'0') as i64))
}

/// UTCTime `YYMMDDHHMM[SS]Z` (years 1950–2049) or GeneralizedTime
/// `YYYYMMDDHHMMSS[.fff]Z`, both in UTC as RFC 5280 requires.
fn parse_time(tag: u8, t: &[u8]) -> Result<i64, &'static str> {
    let (year, rest) = match tag {
        UTC_TIME => {
            let yy = digits(t.get(..2).ok_or("short UTCTime")?)?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &t[2..])
        }
        GENERALIZED_TIME => (digits(t.get(..4).ok_or("short GeneralizedTime")?)?, &t[4..]),
        _ => return Err("notAfter is neither UTCTime nor GeneralizedTime"),
    };
    let rest = rest
        .strip_suffix(b"Z")
        .ok_or("certificate time is not in UTC")?;
    // Fractional seconds are not allowed by RFC 5280 but cost nothing to skip.
    let rest = match rest.iter().position(|&b| b == b'.') {
        Some(i) => &rest[..i],
        None => rest,
    };
    if rest.len() != 8 && rest.len() != 10 {
        return Err("bad certificate time length");
    }
    let month = digits(&rest[0..2])?;
    let day = digits(&rest[2..4])?;
    let hour = digits(&rest[4..6])?;
    let minute = digits(&rest[6..8])?;
    let second = if rest.len() == 10 {
        digits(&rest[8..10])?
    } else {
        0
    };
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err("certificate time out of range");
    }
    Ok(days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11017);
        assert_eq!(days_from_civil(2038, 1, 19), 24855);
    }

    #[test]
    fn times() {
        assert_eq!(parse_time(UTC_TIME, b"700101000000Z"), Ok(0));
        assert_eq!(parse_time(UTC_TIME, b"380119031407Z"), Ok(2147483647));
        assert_eq!(parse_time(UTC_TIME, b"491231235959Z"), Ok(2524607999));
        assert_eq!(parse_time(UTC_TIME, b"500101000000Z"), Ok(-631152000));
        assert_eq!(
            parse_time(GENERALIZED_TIME, b"20500101000000Z"),
            Ok(2524608000)
        );
        assert_eq!(
            parse_time(GENERALIZED_TIME, b"99991231235959Z"),
            Ok(253402300799)
        );
        assert_eq!(
            parse_time(GENERALIZED_TIME, b"20380119031407.5Z"),
            Ok(2147483647)
        );
        assert!(parse_time(UTC_TIME, b"700101000000+0100").is_err());
        assert!(parse_time(UTC_TIME, b"701301000000Z").is_err());
        assert!(parse_time(0x04, b"700101000000Z").is_err());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(not_after(&[]).is_err());
        assert!(not_after(&[0x30, 0x82, 0xff]).is_err());
        assert!(not_after(&[0x30, 0x03, 0x30, 0x01, 0x00]).is_err());
        assert!(not_after(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_err());
    }
}
