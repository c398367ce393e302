//! LEB128 varints and zigzag, the integer framing of head rows and chunks.

use crate::StoreError;

pub fn put_u64(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub fn put_i64(out: &mut Vec<u8>, v: i64) {
    put_u64(out, ((v << 1) ^ (v >> 63)) as u64);
}

/// A cursor over encoded bytes that reports truncation as corruption instead
/// of panicking.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub fn u64(&mut self) -> Result<u64, StoreError> {
        let mut v: u64 = 0;
        let mut shift = 0;
        loop {
            let byte = *self
                .buf
                .get(self.pos)
                .ok_or_else(|| StoreError::Corrupt("truncated varint".into()))?;
            self.pos += 1;
            if shift >= 64 {
                return Err(StoreError::Corrupt("varint too long".into()));
            }
            v |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Ok(v);
            }
            shift += 7;
        }
    }

    pub fn i64(&mut self) -> Result<i64, StoreError> {
        let z = self.u64()?;
        Ok(((z >> 1) as i64) ^ -((z & 1) as i64))
    }

    pub fn u8(&mut self) -> Result<u8, StoreError> {
        Ok(self.bytes(1)?[0])
    }

    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], StoreError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.buf.len())
            .ok_or_else(|| StoreError::Corrupt("truncated block".into()))?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut out = Vec::new();
        let values = [0i64, 1, -1, 63, -64, 1 << 40, i64::MIN, i64::MAX];
        for v in values {
            put_i64(&mut out, v);
        }
        put_u64(&mut out, u64::MAX);
        let mut r = Reader::new(&out);
        for v in values {
            assert_eq!(r.i64().unwrap(), v);
        }
        assert_eq!(r.u64().unwrap(), u64::MAX);
        assert!(r.is_empty());
        assert!(r.u64().is_err());
    }
}
