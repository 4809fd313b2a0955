//! Entity tags: a stable fingerprint of a representation's bytes.

/// A strong ETag over bytes plus a variant number (a PNG width, say).
pub fn etag_bytes(bytes: &[u8], variant: u32) -> String {
    // FNV-1a: stable across processes and Rust versions, unlike `DefaultHasher`.
    let fnv = |h: u64, b: &u8| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    let hash = variant
        .to_le_bytes()
        .iter()
        .fold(bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, fnv), fnv);
    format!("\"{hash:016x}\"")
}
