//! The QR version a code needs (feature `qr`).

use qrcode::{EcLevel, QrCode, Version};

/// The text does not fit any QR code.
#[derive(Debug, thiserror::Error)]
#[error("the text does not fit a QR code: {0}")]
pub struct QrError(String);

/// The smallest QR version (1–40) holding `text` at error-correction level M.
/// A code's text is all in the QR alphanumeric set, so it encodes compactly.
pub fn qr_version(text: &str) -> Result<i16, QrError> {
    let code = QrCode::with_error_correction_level(text, EcLevel::M)
        .map_err(|e| QrError(e.to_string()))?;
    match code.version() {
        Version::Normal(v) => Ok(v),
        Version::Micro(v) => Ok(-v),
    }
}
