//! zlib (RFC 1950) with a bounded inflate.

use flate2::write::ZlibEncoder;
use flate2::{Compression, Decompress, FlushDecompress, Status};
use std::cell::RefCell;
use std::io::Write;

/// Inflating failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InflateError {
    /// The output would exceed the bound.
    TooLarge,
    /// Not a valid zlib stream, or bytes after its end.
    Invalid,
}

/// Inflates a complete zlib stream to at most `max_output` bytes. The stream
/// must end (Adler-32 checked) exactly at the end of `input`.
pub(crate) fn inflate_bounded(input: &[u8], max_output: usize) -> Result<Vec<u8>, InflateError> {
    // Setting up an inflater allocates its state and window (about a
    // microsecond, a tenth of the verifier's budget beside the signature
    // check): each thread keeps one and resets it.
    thread_local! {
        static INFLATER: RefCell<Decompress> = RefCell::new(Decompress::new(true));
    }
    INFLATER.with(|cell| match cell.try_borrow_mut() {
        Ok(mut inflater) => {
            inflater.reset(true);
            inflate_with(&mut inflater, input, max_output)
        }
        // Not reached (nothing here re-enters), but never panic on a borrow.
        Err(_) => inflate_with(&mut Decompress::new(true), input, max_output),
    })
}

fn inflate_with(
    inflater: &mut Decompress,
    input: &[u8],
    max_output: usize,
) -> Result<Vec<u8>, InflateError> {
    let mut out: Vec<u8> = Vec::new();
    loop {
        if out.len() > max_output {
            return Err(InflateError::TooLarge);
        }
        // flate2 zero-fills the room it is given: start near the size a
        // code inflates to (CBOR rarely compresses 4:1), then double.
        let guess = if out.is_empty() {
            input.len().saturating_mul(4).max(256)
        } else {
            out.len()
        };
        let want = guess.min(max_output + 1 - out.len()).clamp(1, 64 * 1024);
        out.reserve(want);
        let (in_before, out_before) = (inflater.total_in(), inflater.total_out());
        let consumed = usize::try_from(in_before).map_err(|_| InflateError::Invalid)?;
        let rest = input.get(consumed..).ok_or(InflateError::Invalid)?;
        let status = inflater
            .decompress_vec(rest, &mut out, FlushDecompress::Finish)
            .map_err(|_| InflateError::Invalid)?;
        if status == Status::StreamEnd {
            if out.len() > max_output {
                return Err(InflateError::TooLarge);
            }
            if inflater.total_in() != input.len() as u64 {
                return Err(InflateError::Invalid);
            }
            return Ok(out);
        }
        if inflater.total_in() == in_before && inflater.total_out() == out_before {
            // No progress although there was room: the stream is truncated.
            return Err(InflateError::Invalid);
        }
    }
}

pub(crate) fn deflate(input: &[u8]) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::best());
    // Writing into a Vec cannot fail.
    encoder.write_all(input).expect("zlib into a Vec");
    encoder.finish().expect("zlib into a Vec")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bounds() {
        let data = vec![b'a'; 10_000];
        let z = deflate(&data);
        assert_eq!(inflate_bounded(&z, 10_000).unwrap(), data);
        assert_eq!(inflate_bounded(&z, 9_999), Err(InflateError::TooLarge));
        let mut trailing = z.clone();
        trailing.push(0);
        assert_eq!(
            inflate_bounded(&trailing, 10_000),
            Err(InflateError::Invalid)
        );
        assert_eq!(
            inflate_bounded(&z[..z.len() - 1], 10_000),
            Err(InflateError::Invalid)
        );
        assert_eq!(
            inflate_bounded(b"\x78\x9cgarbage", 100),
            Err(InflateError::Invalid)
        );
    }
}
