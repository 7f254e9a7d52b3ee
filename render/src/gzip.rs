//! Reproducible gzip on all cores: the input is cut into fixed-size slices, each slice becomes an independent
//! run of deflate blocks (ended by a sync flush, the last one by the final block), and the runs are joined into
//! one gzip member, as pigz does. Each slice is primed with the 32 KiB of input before it as its dictionary, so
//! slicing costs almost nothing in size, and the bytes depend only on the input, the slice size and the level,
//! never on how many threads did the work.
//!
//! The header is fixed: no file name, mtime 0, no extra flags, the "unknown" operating system.

use std::io;

use flate2::{Compress, Compression, Crc, FlushCompress, Status};

use super::parallel::per_batch_on_all_cores;

/// Uncompressed bytes per independently compressed slice: small enough that a few MiB keep several cores busy.
/// Changing it changes every artifact's digest.
const SLICE_BYTES: usize = 256 * 1024;
/// deflate's window: how far back a match may reach, so how much of the preceding input primes a slice.
const WINDOW_BYTES: usize = 32 * 1024;
/// Fixed so that a change of flate2's default cannot change every digest.
const COMPRESSION_LEVEL: u32 = 6;
/// gzip's "unknown" operating system, so the bytes do not depend on where they were produced.
pub const GZIP_OS_UNKNOWN: u8 = 255;
/// Magic, deflate, no flags, mtime 0, no extra flags, OS.
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, GZIP_OS_UNKNOWN];

/// Compresses `data` into one gzip member.
pub fn reproducible_gzip(data: &[u8]) -> io::Result<Vec<u8>> {
    let slices = slices(data);
    let last = slices.len() - 1;
    let compressed = per_batch_on_all_cores(&slices, 1, |first, batch| {
        let runs: Vec<io::Result<Vec<u8>>> =
            batch.iter().enumerate().map(|(offset, slice)| deflate_slice(slice, first + offset == last)).collect();
        runs
    });
    let mut crc = Crc::new();
    crc.update(data);
    let mut gzip = Vec::with_capacity(HEADER.len() + data.len() / 4 + 8);
    gzip.extend_from_slice(&HEADER);
    for batch in compressed {
        for run in batch.map_err(|_| io::Error::other("a gzip thread panicked"))? {
            gzip.extend_from_slice(&run?);
        }
    }
    gzip.extend_from_slice(&crc.sum().to_le_bytes());
    // ISIZE is the input length modulo 2^32 (RFC 1952).
    gzip.extend_from_slice(&crc.amount().to_le_bytes());
    Ok(gzip)
}

/// `data` cut into [`SLICE_BYTES`] slices, each with the [`WINDOW_BYTES`] before it; one empty slice for no data.
fn slices(data: &[u8]) -> Vec<Slice<'_>> {
    if data.is_empty() {
        return vec![Slice { dictionary: &[], input: data }];
    }
    (0..data.len())
        .step_by(SLICE_BYTES)
        .map(|start| Slice {
            dictionary: &data[start.saturating_sub(WINDOW_BYTES)..start],
            input: &data[start..(start + SLICE_BYTES).min(data.len())],
        })
        .collect()
}

/// One slice of the input and the input just before it, which its matches may refer to.
#[derive(Debug, Clone, Copy)]
struct Slice<'a> {
    dictionary: &'a [u8],
    input: &'a [u8],
}

/// Raw deflate of one slice: ended by a sync flush (byte-aligned, not final), or by the final block.
fn deflate_slice(Slice { dictionary, input: slice }: &Slice<'_>, is_last: bool) -> io::Result<Vec<u8>> {
    let flush = if is_last { FlushCompress::Finish } else { FlushCompress::Sync };
    let mut deflate = Compress::new(Compression::new(COMPRESSION_LEVEL), false);
    if !dictionary.is_empty() {
        deflate.set_dictionary(dictionary).map_err(io::Error::other)?;
    }
    let mut out = Vec::with_capacity(slice.len() / 2 + 1024);
    loop {
        let consumed = usize::try_from(deflate.total_in()).map_err(io::Error::other)?;
        let status = deflate.compress_vec(&slice[consumed..], &mut out, flush).map_err(io::Error::other)?;
        let all_in = usize::try_from(deflate.total_in()).map_err(io::Error::other)? == slice.len();
        // Output filling the whole buffer may mean more is pending: grow and call again.
        let room_left = out.len() < out.capacity();
        let done = if is_last { status == Status::StreamEnd } else { all_in && room_left };
        if done {
            return Ok(out);
        }
        if !room_left {
            out.reserve(out.capacity().max(4096));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::{fmt::Write as _, io::Read};

    use flate2::read::GzDecoder;

    use super::*;

    fn gunzip(bytes: &[u8]) -> Vec<u8> {
        let mut decoder = GzDecoder::new(bytes);
        let mut out = Vec::new();
        decoder.read_to_end(&mut out).unwrap();
        // One member, nothing after it.
        assert!(decoder.into_inner().is_empty());
        out
    }

    /// Compressible but not trivial: lines of YAML-like text with varying numbers.
    fn sample(len: usize) -> Vec<u8> {
        let mut text = String::new();
        let mut i = 0_u64;
        while text.len() < len {
            let value = i.wrapping_mul(2_654_435_761) % 1_000_003;
            writeln!(text, "- name: item-{i}\n  value: {value}").unwrap();
            i += 1;
        }
        text.truncate(len);
        text.into_bytes()
    }

    #[test]
    fn round_trips_at_every_slice_boundary() {
        for len in [0, 1, 100, SLICE_BYTES - 1, SLICE_BYTES, SLICE_BYTES + 1, 3 * SLICE_BYTES + 17] {
            let data = sample(len);
            assert_eq!(gunzip(&reproducible_gzip(&data).unwrap()), data, "length {len}");
        }
    }

    #[test]
    fn header_is_fixed_and_trailer_holds_crc_and_length() {
        let data = sample(SLICE_BYTES * 2 + 5);
        let gzip = reproducible_gzip(&data).unwrap();
        assert_eq!(gzip[..10], HEADER);
        let mut crc = Crc::new();
        crc.update(&data);
        let trailer = &gzip[gzip.len() - 8..];
        assert_eq!(trailer[..4], crc.sum().to_le_bytes());
        assert_eq!(trailer[4..], u32::try_from(data.len()).unwrap().to_le_bytes());
    }

    #[test]
    fn same_input_same_bytes_and_slicing_costs_little() {
        let data = sample(SLICE_BYTES * 6);
        let parallel = reproducible_gzip(&data).unwrap();
        assert_eq!(parallel, reproducible_gzip(&data).unwrap());
        // One slice per call, compressed sequentially, gives the same bytes as the threaded path.
        let slices = slices(&data);
        let mut sequential = HEADER.to_vec();
        for (index, slice) in slices.iter().enumerate() {
            sequential.extend(deflate_slice(slice, index == slices.len() - 1).unwrap());
        }
        assert_eq!(parallel[..parallel.len() - 8], sequential[..]);
        // Against one unsliced stream at the same level.
        let mut whole = flate2::write::GzEncoder::new(Vec::new(), Compression::new(COMPRESSION_LEVEL));
        std::io::Write::write_all(&mut whole, &data).unwrap();
        let whole = whole.finish().unwrap();
        assert!(parallel.len() * 100 <= whole.len() * 101, "sliced {} vs whole {}", parallel.len(), whole.len());
    }
}
