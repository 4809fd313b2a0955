//! [`ServiceName`]: the one name a service goes by everywhere.

use std::fmt;

/// Longest name accepted: Kubernetes object names get suffixes (`-admin`, `-test-readyz`)
/// and Helm release names stop at 53 characters.
pub const MAX_LEN: usize = 30;

/// Names that would clash with Rust (keywords, `std`), Cargo (`test`) or the kit itself.
const RESERVED: &[&str] = &[
    "as",
    "async",
    "await",
    "box",
    "break",
    "const",
    "continue",
    "core",
    "crate",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "fn",
    "for",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "match",
    "mod",
    "move",
    "mut",
    "podkit",
    "proc-macro",
    "pub",
    "ref",
    "return",
    "self",
    "static",
    "std",
    "struct",
    "super",
    "test",
    "trait",
    "true",
    "try",
    "type",
    "unsafe",
    "use",
    "where",
    "while",
    "yield",
];

/// A service name: a crate name, a DNS label (RFC 1123) and, with `-` as `_`, a
/// metric-name and environment-variable prefix. `^[a-z][a-z0-9-]{0,29}$`, not ending
/// in `-`, no `--`, not reserved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceName(String);

/// Why a name was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("NAME `{name}`: {reason}")]
pub struct InvalidName {
    /// The name as given.
    pub name: String,
    /// What is wrong with it.
    pub reason: String,
}

impl ServiceName {
    /// Check `name`.
    ///
    /// # Errors
    /// [`InvalidName`] naming the rule it breaks.
    pub fn parse(name: &str) -> Result<Self, InvalidName> {
        let fail = |reason: &str| InvalidName {
            name: name.to_string(),
            reason: reason.to_string(),
        };
        if name.is_empty() {
            return Err(fail("must not be empty"));
        }
        if name.len() > MAX_LEN {
            return Err(fail(&format!(
                "at most {MAX_LEN} characters (Kubernetes names get suffixes)"
            )));
        }
        if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
            return Err(fail("must start with a lowercase letter a-z"));
        }
        if let Some(c) = name
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
        {
            return Err(fail(&format!(
                "{c:?} is not allowed: use lowercase letters a-z, digits and `-` (a DNS label)"
            )));
        }
        if name.ends_with('-') {
            return Err(fail("must not end with `-`"));
        }
        if name.contains("--") {
            return Err(fail("must not contain `--`"));
        }
        if RESERVED.contains(&name) {
            return Err(fail(
                "is reserved (a Rust keyword, a standard crate or the kit)",
            ));
        }
        Ok(Self(name.to_string()))
    }

    /// As given: crate, binary, image, chart, namespace (`my-svc`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The Rust identifier and metric prefix (`my_svc`).
    pub fn snake(&self) -> String {
        self.0.replace('-', "_")
    }

    /// The environment prefix (`MY_SVC`, as in `MY_SVC_SERVER__PORT`).
    pub fn env_prefix(&self) -> String {
        self.snake().to_ascii_uppercase()
    }

    /// For alert names (`MySvc`, as in `MySvcHighErrorRate`).
    pub fn camel(&self) -> String {
        self.0
            .split('-')
            .map(|part| {
                let mut chars = part.chars();
                match chars.next() {
                    Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                    None => String::new(),
                }
            })
            .collect()
    }
}

impl fmt::Display for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_names_are_accepted_and_derive_every_spelling() {
        let n = ServiceName::parse("order-api2").unwrap();
        assert_eq!(n.as_str(), "order-api2");
        assert_eq!(n.snake(), "order_api2");
        assert_eq!(n.env_prefix(), "ORDER_API2");
        assert_eq!(n.camel(), "OrderApi2");
        for ok in ["a", "svc", "x1", &"a".repeat(MAX_LEN)] {
            assert!(ServiceName::parse(ok).is_ok(), "{ok} should be accepted");
        }
    }

    #[test]
    fn invalid_names_are_refused_with_the_rule_they_break() {
        let cases = [
            ("", "must not be empty"),
            ("Orders", "must start with a lowercase letter"),
            ("1svc", "must start with a lowercase letter"),
            ("-svc", "must start with a lowercase letter"),
            ("my_svc", "'_' is not allowed"),
            ("my.svc", "'.' is not allowed"),
            ("my svc", "' ' is not allowed"),
            ("mySvc", "'S' is not allowed"),
            ("café", "'é' is not allowed"),
            ("svc-", "must not end with `-`"),
            ("a--b", "must not contain `--`"),
            ("test", "is reserved"),
            ("std", "is reserved"),
            ("podkit", "is reserved"),
            ("fn", "is reserved"),
        ];
        for (name, reason) in cases {
            let err = ServiceName::parse(name).expect_err(name);
            assert!(
                err.reason.contains(reason),
                "{name:?}: got {:?}",
                err.reason
            );
            assert!(
                err.to_string().starts_with(&format!("NAME `{name}`")),
                "{name:?}: names the argument"
            );
        }
    }

    #[test]
    fn names_longer_than_the_bound_are_refused() {
        let long = "a".repeat(MAX_LEN + 1);
        let err = ServiceName::parse(&long).unwrap_err();
        assert!(err.reason.contains("at most 30"), "{}", err.reason);
    }
}
