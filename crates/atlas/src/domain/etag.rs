//! Entity tags: a stable fingerprint of a representation's bytes.

/// FNV-1a's starting state.
pub const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a over `bytes`, continuing from `state`: stable across processes and Rust
/// versions, unlike `DefaultHasher`.
pub fn fnv1a(state: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(state, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The strong ETag of a hash state after the representation's bytes, plus a
/// variant number (a PNG width, say).
pub fn etag_of(state: u64, variant: u32) -> String {
    format!("\"{:016x}\"", fnv1a(state, &variant.to_le_bytes()))
}

/// A strong ETag over bytes plus a variant number.
pub fn etag_bytes(bytes: &[u8], variant: u32) -> String {
    etag_of(fnv1a(FNV_OFFSET, bytes), variant)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_state_continued_is_the_hash_of_the_whole() {
        let whole = etag_bytes(b"flag svg", 256);
        assert_eq!(
            etag_of(fnv1a(fnv1a(FNV_OFFSET, b"flag"), b" svg"), 256),
            whole
        );
        assert_ne!(etag_bytes(b"flag svg", 512), whole, "the variant counts");
        // The published FNV-1a 64 test vectors: tags must not change between
        // releases (clients hold them).
        assert_eq!(fnv1a(FNV_OFFSET, b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(FNV_OFFSET, b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(FNV_OFFSET, b"foobar"), 0x8594_4171_f739_67e8);
    }
}
