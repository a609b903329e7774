//! Thumbnails of images, made by the server only after the scan said clean,
//! so that a list of attachments can show pictures without anyone opening
//! the original. Decoding is bounded: an image that claims more pixels or
//! memory than the limits is not decoded at all (decompression bombs).

use image::{ImageReader, Limits};
use std::io::Cursor;

/// The longest side of a thumbnail, in pixels.
pub const SIDE: u32 = 320;
/// Largest picture decoded for a thumbnail, per side.
const MAX_SIDE: u32 = 12_000;
/// Memory the decoder may use.
const MAX_ALLOC: u64 = 256 * 1024 * 1024;

/// Types a thumbnail is made of.
pub fn applies_to(content_type: &str) -> bool {
    matches!(content_type, "image/png" | "image/jpeg" | "image/gif" | "image/webp")
}

/// A JPEG of at most `SIDE`×`SIDE` pixels, keeping the proportions.
pub fn make(original: &[u8]) -> Result<Vec<u8>, image::ImageError> {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    let mut reader = ImageReader::new(Cursor::new(original)).with_guessed_format()?;
    reader.limits(limits);
    let picture = reader.decode()?;
    // `thumbnail` would enlarge a small picture to the side.
    let picture =
        if picture.width() > SIDE || picture.height() > SIDE { picture.thumbnail(SIDE, SIDE) } else { picture };
    let picture = picture.to_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80).encode_image(&picture)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageFormat, RgbImage};

    fn png(width: u32, height: u32) -> Vec<u8> {
        let picture = RgbImage::from_fn(width, height, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
        let mut out = Cursor::new(Vec::new());
        picture.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn a_thumbnail_keeps_proportions_within_the_side() {
        let thumb = image::load_from_memory(&make(&png(1600, 800)).unwrap()).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (320, 160));
        let small = image::load_from_memory(&make(&png(40, 30)).unwrap()).unwrap();
        assert!(small.width() <= 40 && small.height() <= 30, "never enlarged");
    }

    #[test]
    fn a_picture_claiming_too_many_pixels_is_not_decoded() {
        // A valid PNG header that claims 60000×60000 pixels, and no data.
        let mut bomb = png(1, 1);
        bomb[16..20].copy_from_slice(&60_000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&60_000u32.to_be_bytes());
        assert!(make(&bomb).is_err());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(make(b"\x89PNG\r\n\x1a\nnot really").is_err());
        assert!(make(b"").is_err());
        assert!(applies_to("image/png") && !applies_to("application/pdf"));
    }
}
