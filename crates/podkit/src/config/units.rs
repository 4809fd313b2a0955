//! Serde helpers for values people write by hand: durations (`5s`) and sizes (`1MiB`).

use std::fmt;

use serde::Deserializer;

/// A scalar as a string: environment values are parsed as numbers or booleans when
/// they look like one, and a token of digits is still a token.
pub(super) fn scalar_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    struct V;
    impl serde::de::Visitor<'_> for V {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_owned())
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<String, E> {
            Ok(v.to_string())
        }
    }
    d.deserialize_any(V)
}

/// `#[serde(with = "podkit::config::duration")]`: `500ms`, `5s`, `1m`, `1h30m`.
pub mod duration {
    use std::time::Duration;

    use serde::{Deserializer, Serializer};

    use super::scalar_string;

    /// Parse a duration such as `500ms`, `5s`, `1m`.
    ///
    /// # Errors
    /// Names the value and the expected form.
    pub fn parse(s: &str) -> Result<Duration, String> {
        let s = s.trim();
        if s.is_empty() || !s.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(format!(
                "invalid duration {s:?}: expected a number with a unit, e.g. 500ms, 5s, 1m"
            ));
        }
        humantime::parse_duration(s).map_err(|e| {
            format!(
                "invalid duration {s:?} ({e}): expected a number with a unit, e.g. 500ms, 5s, 1m"
            )
        })
    }

    /// Deserialize from a duration string (a bare number means seconds).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = scalar_string(d)?;
        if let Ok(secs) = s.parse::<u64>() {
            return Ok(Duration::from_secs(secs));
        }
        parse(&s).map_err(serde::de::Error::custom)
    }

    /// Serialize as `5s`, `500ms`.
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }
}

/// `#[serde(with = "podkit::config::byte_size")]`: `1048576`, `512KiB`, `1MiB`, `1MB`.
pub mod byte_size {
    use serde::{Deserializer, Serializer};

    use super::scalar_string;

    /// Parse a size in bytes with an optional unit (KiB, MiB, GiB, KB, MB, GB, B).
    ///
    /// # Errors
    /// Names the value and the expected form.
    pub fn parse(s: &str) -> Result<usize, String> {
        let t = s.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let n: usize = num.parse().map_err(|_| {
            format!("invalid size {s:?}: expected bytes, e.g. 1048576, 512KiB, 1MiB")
        })?;
        let mult: usize = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "kib" | "k" => 1 << 10,
            "mib" | "m" => 1 << 20,
            "gib" | "g" => 1 << 30,
            "kb" => 1_000,
            "mb" => 1_000_000,
            "gb" => 1_000_000_000,
            _ => {
                return Err(format!(
                    "invalid size {s:?}: unknown unit, expected B, KiB, MiB, GiB, KB, MB or GB"
                ))
            }
        };
        n.checked_mul(mult)
            .ok_or_else(|| format!("invalid size {s:?}: too large"))
    }

    /// Deserialize from a number of bytes or a string with a unit.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
        parse(&scalar_string(d)?).map_err(serde::de::Error::custom)
    }

    /// Serialize as a plain number of bytes.
    pub fn serialize<S: Serializer>(v: &usize, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(*v as u64)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn durations_and_sizes_parse_common_forms() {
        for (s, d) in [
            ("500ms", 500),
            ("5s", 5000),
            ("1m", 60_000),
            ("1m30s", 90_000),
        ] {
            assert_eq!(duration::parse(s).unwrap(), Duration::from_millis(d), "{s}");
        }
        for bad in ["soon", "", "-1s", "5 parsecs"] {
            assert!(duration::parse(bad).is_err(), "{bad:?} must be rejected");
        }
        for (s, n) in [
            ("1024", 1024),
            ("1KiB", 1024),
            ("1MiB", 1 << 20),
            ("2MB", 2_000_000),
        ] {
            assert_eq!(byte_size::parse(s).unwrap(), n, "{s}");
        }
        assert!(byte_size::parse("1XB").is_err());
    }
}
