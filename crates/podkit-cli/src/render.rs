//! The template language: `@@key@@` placeholders and whole-line conditionals.
//!
//! ```text
//! name: @@name@@              # a placeholder, replaced anywhere in a line or a path
//! @@if db@@                   # a directive is a line of its own (indentation allowed)
//! database: …                 # kept only when the flag `db` is on
//! @@else@@
//! …
//! @@end@@
//! ```
//!
//! `@@if !workers@@` negates. Directives nest. A file that renders to nothing is not
//! written, so a whole file can be optional. `@@` is used because `{{ }}` belongs to
//! Helm, Prometheus and Grafana, whose files are templates too.

use std::collections::BTreeMap;

/// Values and flags a template renders with.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    /// Placeholder values by key.
    pub values: BTreeMap<&'static str, String>,
    /// Flags `@@if …@@` tests, by name.
    pub flags: BTreeMap<&'static str, bool>,
}

/// A template that cannot be rendered: a bug in the template, found by the tests.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{file}:{line}: {reason}")]
pub struct RenderError {
    /// The template file.
    pub file: String,
    /// The 1-based line.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// Render `text` (from `file`, for errors).
///
/// # Errors
/// An unknown placeholder or flag, an unbalanced `@@if@@` / `@@else@@` / `@@end@@`.
pub fn render(file: &str, text: &str, vars: &Vars) -> Result<String, RenderError> {
    let err = |line: usize, reason: String| RenderError {
        file: file.to_string(),
        line,
        reason,
    };
    // One entry per open `@@if@@`: (this branch is on, the enclosing ones are on).
    let mut stack: Vec<(bool, bool)> = Vec::new();
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let n = i + 1;
        let active = stack.iter().all(|(on, _)| *on);
        match directive(line.trim()) {
            Some(Directive::If(flag)) => {
                let (negate, name) = match flag.strip_prefix('!') {
                    Some(name) => (true, name),
                    None => (false, flag),
                };
                let value = *vars
                    .flags
                    .get(name)
                    .ok_or_else(|| err(n, format!("unknown flag `{name}`")))?;
                stack.push((value != negate, active));
            }
            Some(Directive::Else) => {
                let top = stack
                    .last_mut()
                    .ok_or_else(|| err(n, "`@@else@@` without `@@if@@`".into()))?;
                top.0 = !top.0;
            }
            Some(Directive::End) => {
                stack
                    .pop()
                    .ok_or_else(|| err(n, "`@@end@@` without `@@if@@`".into()))?;
            }
            None if active => out.push_str(&substitute(line, vars).map_err(|r| err(n, r))?),
            None => {}
        }
    }
    if !stack.is_empty() {
        return Err(err(
            text.lines().count(),
            "`@@if@@` without `@@end@@`".into(),
        ));
    }
    Ok(out)
}

enum Directive<'a> {
    If(&'a str),
    Else,
    End,
}

fn directive(trimmed: &str) -> Option<Directive<'_>> {
    let inner = trimmed.strip_prefix("@@")?.strip_suffix("@@")?;
    match inner {
        "else" => Some(Directive::Else),
        "end" => Some(Directive::End),
        _ => inner.strip_prefix("if ").map(|f| Directive::If(f.trim())),
    }
}

/// Replace every `@@key@@` in `line`.
///
/// # Errors
/// An unknown key, or an `@@` that opens no placeholder.
pub fn substitute(line: &str, vars: &Vars) -> Result<String, String> {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(start) = rest.find("@@") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("@@")
            .ok_or_else(|| format!("unclosed `@@` in {:?}", line.trim_end()))?;
        let key = &after[..end];
        let value = vars
            .values
            .get(key)
            .ok_or_else(|| format!("unknown placeholder `@@{key}@@`"))?;
        out.push_str(value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        let mut v = Vars::default();
        v.values.insert("name", "orders".into());
        v.flags.insert("db", true);
        v.flags.insert("workers", false);
        v
    }

    #[test]
    fn placeholders_are_replaced_anywhere_in_a_line() {
        let out = render("t", "a @@name@@ b @@name@@\n", &vars()).unwrap();
        assert_eq!(out, "a orders b orders\n");
    }

    #[test]
    fn conditionals_keep_the_branch_whose_flag_holds_and_nest() {
        let text = "\
top
  @@if db@@
db
  @@if workers@@
db+workers
  @@else@@
db-workers
  @@end@@
  @@end@@
@@if !db@@
nodb
@@end@@
end
";
        assert_eq!(
            render("t", text, &vars()).unwrap(),
            "top\ndb\ndb-workers\nend\n"
        );
    }

    #[test]
    fn an_inactive_branch_hides_unknown_placeholders_but_not_unknown_flags() {
        let text = "@@if workers@@\n@@whatever@@\n@@end@@\n";
        assert_eq!(render("t", text, &vars()).unwrap(), "");
        let e = render("t", "@@if nope@@\n@@end@@\n", &vars()).unwrap_err();
        assert_eq!(e.reason, "unknown flag `nope`");
    }

    #[test]
    fn template_mistakes_name_the_file_and_line() {
        let cases = [
            ("x\n@@nope@@\n", 2, "unknown placeholder `@@nope@@`"),
            ("a @@name\n", 1, "unclosed `@@`"),
            ("@@end@@\n", 1, "`@@end@@` without `@@if@@`"),
            ("@@else@@\n", 1, "`@@else@@` without `@@if@@`"),
            ("@@if db@@\nx\n", 2, "`@@if@@` without `@@end@@`"),
        ];
        for (text, line, reason) in cases {
            let e = render("f.yaml", text, &vars()).unwrap_err();
            assert_eq!((e.line, e.file.as_str()), (line, "f.yaml"), "{text:?}");
            assert!(e.reason.starts_with(reason), "{text:?}: {}", e.reason);
        }
    }

    #[test]
    fn helm_and_prometheus_braces_pass_through() {
        let text = "name: {{ .Release.Name }}-@@name@@ {{ $labels.job }}\n";
        let out = render("t", text, &vars()).unwrap();
        assert_eq!(out, "name: {{ .Release.Name }}-orders {{ $labels.job }}\n");
    }
}
