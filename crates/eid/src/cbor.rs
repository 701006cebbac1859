//! CBOR and COSE_Sign1 plumbing.
//!
//! Decoding uses our own small reader instead of coset or ciborium's `Value`:
//! it borrows byte and text strings from the input (a verifier decodes every
//! code, and the benchmark holds full verification within 10 % of the bare
//! signature check), refuses indefinite lengths, reserved heads and invalid
//! UTF-8, bounds the nesting depth (so input cannot overflow the stack) and
//! never allocates more than the input can fill. Every field is then checked by
//! hand, so each failure maps to its own error code. Encoding uses ciborium's
//! `Value`, with map keys listed in the deterministic order of RFC 8949
//! §4.2.1; the Sig_structure is written byte by byte.

use ciborium::Value;

/// The deepest nesting of arrays, maps and tags we accept anywhere (a presentation needs 4).
pub(crate) const MAX_DEPTH: usize = 16;

/// COSE_Sign1 tag (RFC 9052).
pub(crate) const TAG_COSE_SIGN1: u64 = 18;

/// Why a CBOR item could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CborError {
    Malformed,
    TooDeep,
}

/// A decoded CBOR data item, borrowing strings from the input.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Item<'a> {
    Uint(u64),
    /// The negative integer −1 − n.
    Nint(u64),
    Bytes(&'a [u8]),
    Text(&'a str),
    Array(Vec<Item<'a>>),
    Map(Vec<(Item<'a>, Item<'a>)>),
    Tag(u64, Box<Item<'a>>),
    Bool(bool),
    /// null, undefined, other simple values and floats: never valid in our structures.
    Other,
}

impl Item<'_> {
    pub(crate) fn as_i128(&self) -> Option<i128> {
        match self {
            Item::Uint(n) => Some(i128::from(*n)),
            Item::Nint(n) => Some(-1 - i128::from(*n)),
            _ => None,
        }
    }
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, CborError> {
        let b = *self.data.get(self.pos).ok_or(CborError::Malformed)?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8], CborError> {
        let n = usize::try_from(n).map_err(|_| CborError::Malformed)?;
        if n > self.remaining() {
            return Err(CborError::Malformed);
        }
        let slice = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(slice)
    }

    fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    /// (major type, additional info, argument). Indefinite lengths and the
    /// reserved values 28–30 are refused.
    fn head(&mut self) -> Result<(u8, u8, u64), CborError> {
        let initial = self.byte()?;
        let (major, info) = (initial >> 5, initial & 0x1f);
        let arg = match info {
            0..=23 => u64::from(info),
            24 => u64::from(self.byte()?),
            25 => u64::from(u16::from_be_bytes(self.fixed::<2>()?)),
            26 => u64::from(u32::from_be_bytes(self.fixed::<4>()?)),
            27 => u64::from_be_bytes(self.fixed::<8>()?),
            _ => return Err(CborError::Malformed),
        };
        Ok((major, info, arg))
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], CborError> {
        let slice = self.take(N as u64)?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }

    /// A container of `count` items, each at least `min_bytes` long: refuse
    /// counts the remaining input cannot hold before allocating.
    fn check_count(&self, count: u64, min_bytes: usize) -> Result<usize, CborError> {
        let count = usize::try_from(count).map_err(|_| CborError::Malformed)?;
        if count > self.remaining() / min_bytes {
            return Err(CborError::Malformed);
        }
        Ok(count)
    }

    fn item(&mut self, depth: usize) -> Result<Item<'a>, CborError> {
        let (major, info, arg) = self.head()?;
        match major {
            0 => Ok(Item::Uint(arg)),
            1 => Ok(Item::Nint(arg)),
            2 => Ok(Item::Bytes(self.take(arg)?)),
            3 => {
                let bytes = self.take(arg)?;
                Ok(Item::Text(
                    std::str::from_utf8(bytes).map_err(|_| CborError::Malformed)?,
                ))
            }
            4..=6 if depth >= MAX_DEPTH => Err(CborError::TooDeep),
            4 => {
                let count = self.check_count(arg, 1)?;
                let mut items = Vec::with_capacity(count);
                for _ in 0..count {
                    items.push(self.item(depth + 1)?);
                }
                Ok(Item::Array(items))
            }
            5 => {
                let count = self.check_count(arg, 2)?;
                let mut entries = Vec::with_capacity(count);
                for _ in 0..count {
                    let key = self.item(depth + 1)?;
                    let value = self.item(depth + 1)?;
                    entries.push((key, value));
                }
                Ok(Item::Map(entries))
            }
            6 => Ok(Item::Tag(arg, Box::new(self.item(depth + 1)?))),
            _ => match info {
                20 => Ok(Item::Bool(false)),
                21 => Ok(Item::Bool(true)),
                // Simple values 0–19, 22 (null), 23 (undefined), two-byte simple values ≥ 32, floats.
                0..=19 | 22 | 23 | 25..=27 => Ok(Item::Other),
                24 if arg >= 32 => Ok(Item::Other),
                _ => Err(CborError::Malformed),
            },
        }
    }
}

/// Decodes exactly one CBOR item filling `bytes`.
pub(crate) fn decode(bytes: &[u8]) -> Result<Item<'_>, CborError> {
    let mut reader = Reader {
        data: bytes,
        pos: 0,
    };
    let item = reader.item(0)?;
    if reader.remaining() != 0 {
        return Err(CborError::Malformed);
    }
    Ok(item)
}

pub(crate) fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    // Writing into a Vec cannot fail.
    ciborium::ser::into_writer(value, &mut out).expect("CBOR encoding into a Vec");
    out
}

/// Writes a CBOR head (major type, argument) in its shortest form.
pub(crate) fn write_head(out: &mut Vec<u8>, major: u8, value: u64) {
    let m = major << 5;
    if value < 24 {
        out.push(m | value as u8);
    } else if value <= 0xff {
        out.push(m | 24);
        out.push(value as u8);
    } else if value <= 0xffff {
        out.push(m | 25);
        out.extend_from_slice(&(value as u16).to_be_bytes());
    } else if value <= 0xffff_ffff {
        out.push(m | 26);
        out.extend_from_slice(&(value as u32).to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend_from_slice(&value.to_be_bytes());
    }
}

/// The COSE Sig_structure for COSE_Sign1 with empty external AAD:
/// `["Signature1", protected, h'', payload]`.
pub(crate) fn sig_structure(protected: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(protected.len() + payload.len() + 24);
    out.push(0x84);
    write_head(&mut out, 3, 10);
    out.extend_from_slice(b"Signature1");
    write_head(&mut out, 2, protected.len() as u64);
    out.extend_from_slice(protected);
    out.push(0x40);
    write_head(&mut out, 2, payload.len() as u64);
    out.extend_from_slice(payload);
    out
}

/// A tagged COSE_Sign1 with an empty unprotected header.
pub(crate) fn encode_sign1(protected: &[u8], payload: &[u8], signature: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(protected.len() + payload.len() + signature.len() + 12);
    write_head(&mut out, 6, TAG_COSE_SIGN1);
    out.push(0x84);
    write_head(&mut out, 2, protected.len() as u64);
    out.extend_from_slice(protected);
    out.push(0xa0);
    write_head(&mut out, 2, payload.len() as u64);
    out.extend_from_slice(payload);
    write_head(&mut out, 2, signature.len() as u64);
    out.extend_from_slice(signature);
    out
}

/// A COSE_Sign1 taken apart. Every field is checked for its type; nothing is verified yet.
#[derive(Debug)]
pub(crate) struct Sign1<'a> {
    pub protected_bytes: &'a [u8],
    pub alg: i64,
    pub kid: &'a [u8],
    /// Protected header label 3, if present.
    pub content_type: Option<&'a str>,
    /// Protected header label 16, if present.
    pub typ: Option<&'a str>,
    pub payload: &'a [u8],
    pub signature: &'a [u8],
}

/// What was wrong with a COSE_Sign1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Sign1Error {
    Cbor(CborError),
    /// A field has the wrong type or is missing; names the field.
    WrongType(&'static str),
    /// `alg` is not an integer we know of (the value, when it was an integer).
    UnsupportedAlgorithm(Option<i128>),
}

/// Parses a tagged COSE_Sign1. `allowed_labels` are the protected header labels
/// accepted besides 1 (alg) and 4 (kid), which are required.
pub(crate) fn parse_sign1<'a>(
    bytes: &'a [u8],
    allowed_labels: &[i64],
) -> Result<Sign1<'a>, Sign1Error> {
    let (sign1, kid) = parse_sign1_any_kid(bytes, allowed_labels)?;
    let kid = kid.ok_or(Sign1Error::WrongType("kid"))?;
    Ok(Sign1 { kid, ..sign1 })
}

/// Parses a tagged COSE_Sign1 whose protected header is exactly `{1: alg}`
/// (a holder device's presentation: the key is the credential's `cnf` key, so
/// there is no kid). `kid` of the result is empty.
pub(crate) fn parse_sign1_without_kid(bytes: &[u8]) -> Result<Sign1<'_>, Sign1Error> {
    let (sign1, kid) = parse_sign1_any_kid(bytes, &[])?;
    if kid.is_some() {
        return Err(Sign1Error::WrongType("protected_header"));
    }
    Ok(sign1)
}

fn parse_sign1_any_kid<'a>(
    bytes: &'a [u8],
    allowed_labels: &[i64],
) -> Result<(Sign1<'a>, Option<&'a [u8]>), Sign1Error> {
    let value = decode(bytes).map_err(Sign1Error::Cbor)?;
    let Item::Tag(TAG_COSE_SIGN1, inner) = value else {
        return Err(Sign1Error::WrongType("cose_sign1_tag"));
    };
    let Item::Array(items) = *inner else {
        return Err(Sign1Error::WrongType("cose_sign1"));
    };
    let [protected, unprotected, payload, signature]: [Item<'a>; 4] = items
        .try_into()
        .map_err(|_| Sign1Error::WrongType("cose_sign1"))?;
    let Item::Bytes(protected_bytes) = protected else {
        return Err(Sign1Error::WrongType("protected_header"));
    };
    match unprotected {
        Item::Map(m) if m.is_empty() => {}
        _ => return Err(Sign1Error::WrongType("unprotected_header")),
    }
    let Item::Bytes(payload) = payload else {
        return Err(Sign1Error::WrongType("payload"));
    };
    let Item::Bytes(signature) = signature else {
        return Err(Sign1Error::WrongType("signature"));
    };
    let header = decode(protected_bytes).map_err(Sign1Error::Cbor)?;
    let Item::Map(entries) = header else {
        return Err(Sign1Error::WrongType("protected_header"));
    };
    let mut alg = None;
    let mut kid = None;
    let mut content_type = None;
    let mut typ = None;
    let mut seen: Vec<i128> = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        let label = key
            .as_i128()
            .ok_or(Sign1Error::WrongType("protected_header"))?;
        if seen.contains(&label) {
            return Err(Sign1Error::Cbor(CborError::Malformed));
        }
        seen.push(label);
        match label {
            1 => {
                let id = value
                    .as_i128()
                    .ok_or(Sign1Error::UnsupportedAlgorithm(None))?;
                alg = Some(
                    i64::try_from(id).map_err(|_| Sign1Error::UnsupportedAlgorithm(Some(id)))?,
                );
            }
            4 => match value {
                Item::Bytes(b) => kid = Some(b),
                _ => return Err(Sign1Error::WrongType("kid")),
            },
            3 if allowed_labels.contains(&3) => match value {
                Item::Text(t) => content_type = Some(t),
                _ => return Err(Sign1Error::WrongType("content_type")),
            },
            16 if allowed_labels.contains(&16) => match value {
                Item::Text(t) => typ = Some(t),
                _ => return Err(Sign1Error::WrongType("typ")),
            },
            _ => return Err(Sign1Error::WrongType("protected_header")),
        }
    }
    let alg = alg.ok_or(Sign1Error::WrongType("alg"))?;
    Ok((
        Sign1 {
            protected_bytes,
            alg,
            kid: &[],
            content_type,
            typ,
            payload,
            signature,
        },
        kid,
    ))
}

/// The protected header `{1: alg, [3: content type,] 4: kid, [16: typ]}` in deterministic order.
pub(crate) fn protected_header(
    alg: i64,
    kid: &[u8],
    content_type: Option<&str>,
    typ: Option<&str>,
) -> Vec<u8> {
    let mut entries = vec![(Value::from(1), Value::from(alg))];
    if let Some(ct) = content_type {
        entries.push((Value::from(3), Value::from(ct)));
    }
    entries.push((Value::from(4), Value::Bytes(kid.to_vec())));
    if let Some(t) = typ {
        entries.push((Value::from(16), Value::from(t)));
    }
    encode(&Value::Map(entries))
}

/// A CBOR map with unique integer or text keys, read field by field.
pub(crate) struct Fields<'a> {
    entries: Vec<(Item<'a>, Item<'a>)>,
}

/// A map key we accept: an integer or a text string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Key<'a> {
    Int(i128),
    Text(&'a str),
}

fn key_of<'a>(item: &Item<'a>) -> Option<Key<'a>> {
    match item {
        Item::Text(t) => Some(Key::Text(t)),
        other => other.as_i128().map(Key::Int),
    }
}

/// Reading a field failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FieldError {
    /// Duplicate keys.
    Malformed,
    WrongType(&'static str),
}

impl<'a> Fields<'a> {
    /// The map's entries; keys must be integers or text and unique.
    pub(crate) fn from_item(item: Item<'a>, name: &'static str) -> Result<Fields<'a>, FieldError> {
        let Item::Map(entries) = item else {
            return Err(FieldError::WrongType(name));
        };
        for (i, (key, _)) in entries.iter().enumerate() {
            let key = key_of(key).ok_or(FieldError::WrongType(name))?;
            if entries[..i]
                .iter()
                .any(|(seen, _)| key_of(seen).as_ref() == Some(&key))
            {
                return Err(FieldError::Malformed);
            }
        }
        Ok(Fields { entries })
    }

    fn take(&mut self, key: &Key<'_>) -> Option<Item<'a>> {
        let i = self
            .entries
            .iter()
            .position(|(k, _)| key_of(k).as_ref() == Some(key))?;
        Some(self.entries.swap_remove(i).1)
    }

    pub(crate) fn take_int(&mut self, key: i128) -> Option<Item<'a>> {
        self.take(&Key::Int(key))
    }

    pub(crate) fn take_text_key(&mut self, key: &str) -> Option<Item<'a>> {
        self.take(&Key::Text(key))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The keys not taken yet.
    pub(crate) fn remaining_keys(&self) -> impl Iterator<Item = Key<'a>> + '_ {
        self.entries.iter().filter_map(|(k, _)| key_of(k))
    }
}

pub(crate) fn as_int(item: Item<'_>, field: &'static str) -> Result<i128, FieldError> {
    item.as_i128().ok_or(FieldError::WrongType(field))
}

pub(crate) fn as_i64(item: Item<'_>, field: &'static str) -> Result<i64, FieldError> {
    i64::try_from(as_int(item, field)?).map_err(|_| FieldError::WrongType(field))
}

pub(crate) fn as_u32(item: Item<'_>, field: &'static str) -> Result<u32, FieldError> {
    u32::try_from(as_int(item, field)?).map_err(|_| FieldError::WrongType(field))
}

pub(crate) fn as_text<'a>(item: Item<'a>, field: &'static str) -> Result<&'a str, FieldError> {
    match item {
        Item::Text(t) => Ok(t),
        _ => Err(FieldError::WrongType(field)),
    }
}

pub(crate) fn as_bytes<'a>(item: Item<'a>, field: &'static str) -> Result<&'a [u8], FieldError> {
    match item {
        Item::Bytes(b) => Ok(b),
        _ => Err(FieldError::WrongType(field)),
    }
}

pub(crate) fn as_bool(item: Item<'_>, field: &'static str) -> Result<bool, FieldError> {
    match item {
        Item::Bool(b) => Ok(b),
        _ => Err(FieldError::WrongType(field)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_shortest() {
        for (v, expect) in [
            (0u64, "00"),
            (23, "17"),
            (24, "1818"),
            (255, "18ff"),
            (256, "190100"),
            (65535, "19ffff"),
            (65536, "1a00010000"),
        ] {
            let mut out = Vec::new();
            write_head(&mut out, 0, v);
            assert_eq!(hex::encode(out), expect);
        }
    }

    #[test]
    fn sig_structure_matches_a_value_encoding() {
        let expected = encode(&Value::Array(vec![
            Value::from("Signature1"),
            Value::Bytes(vec![0xa1, 0x01, 0x27]),
            Value::Bytes(vec![]),
            Value::Bytes(vec![7; 300]),
        ]));
        assert_eq!(sig_structure(&[0xa1, 0x01, 0x27], &[7; 300]), expected);
    }

    #[test]
    fn rfc9052_c_2_1_sign1_parses() {
        // RFC 9052 Appendix C.2.1 (ECDSA P-256, kid "11" in the unprotected
        // header): our parser refuses it, because we require the kid to be
        // protected and the unprotected header to be empty.
        let bytes = hex::decode("d28443a10126a10442313154546869732069732074686520636f6e74656e742e58408eb33e4ca31d1c465ab05aac34cc6b23d58fef5c083106c4d25a91aef0b0117e2af9a291aa32e14ab834dc56ed2a223444547e01f11d3b0916e5a4c345cacb36").unwrap();
        assert_eq!(
            parse_sign1(&bytes, &[]).unwrap_err(),
            Sign1Error::WrongType("unprotected_header")
        );
        // The same structure with the kid moved into the protected header parses.
        let protected = protected_header(-7, b"11", None, None);
        let rebuilt = encode_sign1(&protected, b"This is the content.", &[0; 64]);
        let parsed = parse_sign1(&rebuilt, &[]).unwrap();
        assert_eq!(parsed.alg, -7);
        assert_eq!(parsed.kid, b"11");
        assert_eq!(parsed.payload, b"This is the content.");
    }

    /// The claims set of RFC 8392 Appendix A.1, read with our decoder.
    #[test]
    fn rfc8392_a_1_claims() {
        let bytes = hex::decode("a70175636f61703a2f2f61732e6578616d706c652e636f6d02656572696b77037818636f61703a2f2f6c696768742e6578616d706c652e636f6d041a5612aeb0051a5610d9f0061a5610d9f007420b71").unwrap();
        let mut claims = Fields::from_item(decode(&bytes).unwrap(), "claims").unwrap();
        let text = |c: &mut Fields<'_>, k| as_text(c.take_int(k).unwrap(), "t").unwrap().to_owned();
        assert_eq!(text(&mut claims, 1), "coap://as.example.com");
        assert_eq!(text(&mut claims, 2), "erikw");
        assert_eq!(text(&mut claims, 3), "coap://light.example.com");
        assert_eq!(
            as_i64(claims.take_int(4).unwrap(), "exp").unwrap(),
            1444064944
        );
        assert_eq!(
            as_i64(claims.take_int(5).unwrap(), "nbf").unwrap(),
            1443944944
        );
        assert_eq!(
            as_i64(claims.take_int(6).unwrap(), "iat").unwrap(),
            1443944944
        );
        assert_eq!(
            as_bytes(claims.take_int(7).unwrap(), "cti").unwrap(),
            [0x0b, 0x71]
        );
        assert!(claims.is_empty());
    }

    #[test]
    fn strictness() {
        // Indefinite-length array, reserved additional information, invalid UTF-8,
        // a one-byte simple value below 32, a count larger than the input.
        for bad in ["9f01ff", "1c", "62c328", "f810", "8401", "a5010101"] {
            assert_eq!(
                decode(&hex::decode(bad).unwrap()).unwrap_err(),
                CborError::Malformed,
                "{bad}"
            );
        }
        // Duplicate keys are refused when the map is read.
        let bytes = hex::decode("a201010102").unwrap();
        let dup = decode(&bytes).unwrap();
        assert_eq!(
            Fields::from_item(dup, "m").err(),
            Some(FieldError::Malformed)
        );
        assert_eq!(decode(&[0xf5]).unwrap(), Item::Bool(true));
        assert_eq!(decode(&[0x39, 0x01, 0x00]).unwrap().as_i128(), Some(-257));
    }

    #[test]
    fn depth_is_bounded_and_trailing_bytes_refused() {
        let mut deep = vec![0x81; 100];
        deep.push(0x00);
        assert_eq!(decode(&deep).unwrap_err(), CborError::TooDeep);
        assert_eq!(decode(&[0x00, 0x00]).unwrap_err(), CborError::Malformed);
        assert_eq!(
            decode(&[0x5b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).unwrap_err(),
            CborError::Malformed
        );
    }
}
