//! Base45 (RFC 9285): the alphanumeric-mode-friendly encoding of binary data in
//! QR codes, as used by the EU Digital COVID Certificate and MOSIP Claim 169.

const ALPHABET: &[u8; 45] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/// Each byte's value in the alphabet, or 0xff: one lookup per character (the
/// verifier decodes every code, so this is on the hot path).
const VALUES: [u8; 256] = {
    let mut table = [0xffu8; 256];
    let mut i = 0;
    while i < ALPHABET.len() {
        table[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Base45Error {
    #[error("character {character:?} at position {position} is not in the base45 alphabet")]
    InvalidCharacter { position: usize, character: char },
    #[error("the input length {0} leaves a dangling character (length mod 3 must not be 1)")]
    BadLength(usize),
    #[error("the group at position {0} encodes a value too large")]
    Overflow(usize),
}

pub fn encode(input: &[u8]) -> String {
    let mut out = String::with_capacity(input.len().div_ceil(2) * 3);
    for chunk in input.chunks(2) {
        let (mut n, digits) = match chunk {
            [a, b] => (u32::from(*a) * 256 + u32::from(*b), 3),
            [a] => (u32::from(*a), 2),
            _ => unreachable!("chunks(2) yields one or two bytes"),
        };
        for _ in 0..digits {
            out.push(char::from(ALPHABET[(n % 45) as usize]));
            n /= 45;
        }
    }
    out
}

pub fn decode(input: &str) -> Result<Vec<u8>, Base45Error> {
    let bytes = input.as_bytes();
    if bytes.len() % 3 == 1 {
        return Err(Base45Error::BadLength(bytes.len()));
    }
    let value = |position: usize| -> Result<u32, Base45Error> {
        match VALUES[usize::from(bytes[position])] {
            0xff => Err(Base45Error::InvalidCharacter {
                position,
                character: input
                    .get(position..)
                    .and_then(|s| s.chars().next())
                    .unwrap_or('\u{fffd}'),
            }),
            v => Ok(u32::from(v)),
        }
    };
    let mut out = Vec::with_capacity(bytes.len() / 3 * 2 + 1);
    let mut i = 0;
    while i < bytes.len() {
        if bytes.len() - i >= 3 {
            let n = value(i)? + value(i + 1)? * 45 + value(i + 2)? * 45 * 45;
            if n > 0xFFFF {
                return Err(Base45Error::Overflow(i));
            }
            out.extend_from_slice(&[(n >> 8) as u8, (n & 0xFF) as u8]);
            i += 3;
        } else {
            let n = value(i)? + value(i + 1)? * 45;
            if n > 0xFF {
                return Err(Base45Error::Overflow(i));
            }
            out.push(n as u8);
            i += 2;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The examples of RFC 9285, section 4.
    #[test]
    fn rfc_9285_examples() {
        assert_eq!(encode(b"AB"), "BB8");
        assert_eq!(encode(b"Hello!!"), "%69 VD92EX0");
        assert_eq!(encode(b"base-45"), "UJCLQE7W581");
        assert_eq!(decode("QED8WEX0").unwrap(), b"ietf!");
        assert_eq!(decode("").unwrap(), b"");
    }

    #[test]
    fn every_byte_pair_round_trips() {
        let data: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
        for len in [0, 1, 2, 3, data.len()] {
            assert_eq!(decode(&encode(&data[..len])).unwrap(), &data[..len]);
        }
    }

    #[test]
    fn malformed_input_is_refused_with_its_reason() {
        assert_eq!(
            decode("GGW"),
            Err(Base45Error::Overflow(0)),
            "GGW is 65535 + 1"
        );
        assert_eq!(decode("ZZ"), Err(Base45Error::Overflow(0)));
        assert_eq!(decode("A"), Err(Base45Error::BadLength(1)));
        assert!(matches!(
            decode("ab8"),
            Err(Base45Error::InvalidCharacter { position: 0, .. })
        ));
        assert!(matches!(
            decode("BB汉"),
            Err(Base45Error::BadLength(_)) | Err(Base45Error::InvalidCharacter { .. })
        ));
    }
}
