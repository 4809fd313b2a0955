//! Secrets in config: [`Secret`] and [`SecretUrl`] keep their value in a
//! [`secrecy::SecretString`] (zeroed on drop, never in `Debug`), and show `***` in
//! `Debug` and in the effective config.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::units::scalar_string;

/// A secret string: never shown by `Debug` or the effective config, zeroed on drop.
///
/// No `PartialEq`: compare a presented token in constant time instead (the admin
/// port does).
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    /// Wrap a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(SecretString::from(value.into()))
    }
    /// The value itself; call only where it is used.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for Secret {
    fn serialize<Se: Serializer>(&self, s: Se) -> Result<Se::Ok, Se::Error> {
        s.serialize_str("***")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        scalar_string(d).map(Secret::new)
    }
}

/// A URL whose password is a secret: `postgres://app:***@db:5432/atlas` when shown.
#[derive(Clone)]
pub struct SecretUrl(SecretString);

impl SecretUrl {
    /// Wrap a URL.
    pub fn new(value: impl Into<String>) -> Self {
        Self(SecretString::from(value.into()))
    }
    /// The full URL with its password; call only where it is used.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
    /// The URL with the password (and any `password=` query value) replaced by `***`.
    pub fn redacted(&self) -> String {
        redact_url(self.expose())
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Serialize for SecretUrl {
    fn serialize<Se: Serializer>(&self, s: Se) -> Result<Se::Ok, Se::Error> {
        s.serialize_str(&self.redacted())
    }
}

impl<'de> Deserialize<'de> for SecretUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        scalar_string(d).map(SecretUrl::new)
    }
}

/// Replace the password of a URL, and `password`/`token`-like query values, by `***`.
pub fn redact_url(raw: &str) -> String {
    // Not a URL we understand (`app:pw@db` parses as scheme `app` with no host): do
    // not guess which part is secret.
    let url = url::Url::parse(raw).ok().filter(|u| !u.cannot_be_a_base());
    let Some(mut url) = url else {
        return if raw.contains('@') {
            "***".into()
        } else {
            raw.into()
        };
    };
    if url.password().is_some() {
        let _ = url.set_password(Some("***"));
    }
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let secret = ["password", "pass", "token", "secret", "key"]
                .iter()
                .any(|s| k.to_ascii_lowercase().contains(s));
            (
                k.into_owned(),
                if secret { "***".into() } else { v.into_owned() },
            )
        })
        .collect();
    if !pairs.is_empty() {
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string().replace("%2A%2A%2A", "***")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_show_only_stars_in_debug_and_yaml_but_expose_their_value() {
        let token = Secret::new("12345");
        assert_eq!(format!("{token:?}"), "***");
        assert_eq!(serde_yaml::to_string(&token).unwrap().trim(), "'***'");
        assert_eq!(token.expose(), "12345");

        let url = SecretUrl::new("postgres://app:hunter2@db:5432/atlas");
        for shown in [
            format!("{url:?}"),
            url.to_string(),
            serde_yaml::to_string(&url).unwrap(),
        ] {
            assert!(
                shown.contains("postgres://app:***@db:5432/atlas"),
                "{shown}"
            );
            assert!(!shown.contains("hunter2"), "{shown}");
        }
        assert_eq!(url.expose(), "postgres://app:hunter2@db:5432/atlas");
    }

    #[test]
    fn digits_deserialize_as_a_secret_string() {
        let token: Secret = serde_yaml::from_str("12345").unwrap();
        assert_eq!(token.expose(), "12345");
    }

    #[test]
    fn redact_url_hides_passwords_and_secret_query_values() {
        let cases = [
            (
                "postgres://app:pw@db/atlas?sslmode=require&password=p2",
                "postgres://app:***@db/atlas?sslmode=require&password=***",
            ),
            ("postgres://db/atlas", "postgres://db/atlas"),
            ("not a url", "not a url"),
            ("app:pw@db", "***"),
        ];
        for (raw, want) in cases {
            assert_eq!(redact_url(raw), want, "case {raw}");
        }
    }
}
