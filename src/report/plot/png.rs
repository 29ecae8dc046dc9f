//! A small, deterministic PNG encoder for 8-bit RGB buffers (what plotters' `BitMapBackend`
//! draws into), so PNG bytes can go through `fsio::write_atomic` like every other output.

use crate::error::{Error, Result};
use std::io::Write;

/// Encode `rgb` (`width × height × 3` bytes, rows top to bottom) as a PNG file.
pub fn encode_rgb(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>> {
    let row = width as usize * 3;
    if rgb.len() != row * height as usize || width == 0 || height == 0 {
        return Err(Error::Internal(format!(
            "png: {} bytes do not make a {width}×{height} RGB image",
            rgb.len()
        )));
    }
    // Filter every scanline with the candidate (None, Sub, Up, Average, Paeth) whose output has
    // the smallest sum of absolute values (the heuristic the PNG specification recommends).
    let mut filtered = Vec::with_capacity((row + 1) * height as usize);
    let zero = vec![0u8; row];
    let mut cand = vec![vec![0u8; row]; 5];
    for y in 0..height as usize {
        let cur = &rgb[y * row..(y + 1) * row];
        let prev = if y == 0 {
            &zero[..]
        } else {
            &rgb[(y - 1) * row..y * row]
        };
        for i in 0..row {
            let a = if i >= 3 { cur[i - 3] } else { 0 };
            let b = prev[i];
            let c = if i >= 3 { prev[i - 3] } else { 0 };
            cand[0][i] = cur[i];
            cand[1][i] = cur[i].wrapping_sub(a);
            cand[2][i] = cur[i].wrapping_sub(b);
            cand[3][i] = cur[i].wrapping_sub(((a as u16 + b as u16) / 2) as u8);
            cand[4][i] = cur[i].wrapping_sub(paeth(a, b, c));
        }
        let cost =
            |v: &Vec<u8>| -> u64 { v.iter().map(|&x| (x as i8).unsigned_abs() as u64).sum() };
        let (kind, best) = cand
            .iter()
            .enumerate()
            .min_by_key(|(_, v)| cost(v))
            .expect("five candidates");
        filtered.push(kind as u8);
        filtered.extend_from_slice(best);
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    let idat = z
        .write_all(&filtered)
        .and_then(|_| z.finish())
        .map_err(|e| Error::Internal(format!("png: compressing image data: {e}")))?;
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    // 8 bits per channel, colour type 2 (RGB), deflate, adaptive filtering, no interlace.
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &idat);
    chunk(&mut out, b"IEND", &[]);
    Ok(out)
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = a as i16 + b as i16 - c as i16;
    let (pa, pb, pc) = (
        (p - a as i16).abs(),
        (p - b as i16).abs(),
        (p - c as i16).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_a_decodable_image() {
        let (w, h) = (7u32, 5u32);
        let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 37 % 251) as u8).collect();
        let png = encode_rgb(&rgb, w, h).unwrap();
        let mut reader = ::png::Decoder::new(png.as_slice()).read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (w, h));
        assert_eq!(info.color_type, ::png::ColorType::Rgb);
        assert_eq!(&buf[..info.buffer_size()], rgb.as_slice());
        assert_eq!(png, encode_rgb(&rgb, w, h).unwrap());
    }

    #[test]
    fn rejects_a_wrong_buffer_size() {
        assert!(encode_rgb(&[0; 10], 2, 2).is_err());
    }
}
