//! `?fields=`: which parts of each item to answer with, as dotted paths
//! (`name,latlng.lat,translations.deu.common`), checked against the shape of the
//! resource so an unknown field is a 422 that names it, never a silent empty answer.

use serde_json::{Map, Value};

/// The shape of a resource, as far as projection needs it.
#[derive(Debug)]
pub enum Shape {
    /// A value with no parts to select (string, number, bool, list of scalars).
    Leaf,
    /// An object with these fields.
    Object(&'static [(&'static str, Shape)]),
    /// An object keyed by data (a language code), each value of this shape.
    Map(&'static Shape),
    /// A list whose items have this shape: a path selects in every item.
    List(&'static Shape),
}

impl Shape {
    /// The names of an object's fields (empty for other shapes).
    pub fn field_names(&self) -> Vec<&'static str> {
        match self {
            Shape::Object(fields) => fields.iter().map(|(n, _)| *n).collect(),
            _ => Vec::new(),
        }
    }

    fn child(&self, segment: &str) -> Result<&Shape, String> {
        match self {
            Shape::Object(fields) => fields
                .iter()
                .find(|(n, _)| *n == segment)
                .map(|(_, s)| s)
                .ok_or_else(|| format!("unknown field {segment:?}")),
            Shape::Map(inner) if is_map_key(segment) => Ok(inner),
            Shape::Map(_) => Err(format!(
                "{segment:?} is not a key (1 to 16 of a-z, 0-9, _ or -)"
            )),
            Shape::List(inner) => inner.child(segment),
            Shape::Leaf => Err(format!("{segment:?}: the field above it has no parts")),
        }
    }
}

fn is_map_key(s: &str) -> bool {
    (1..=16).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Most paths one `fields` may name.
pub const MAX_PATHS: usize = 64;
/// Most segments in one path.
pub const MAX_DEPTH: usize = 4;

/// A checked selection: a tree of the parts to keep.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection(Vec<(String, Projection)>);

impl Projection {
    /// Parse `fields` against `shape`; blank means no projection.
    ///
    /// # Errors
    /// Too many paths, too deep, an empty segment, or a field `shape` does not
    /// have; the message names the path.
    pub fn parse(raw: Option<&str>, shape: &Shape) -> Result<Option<Self>, String> {
        let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
            return Ok(None);
        };
        let paths: Vec<&str> = raw.split(',').map(str::trim).collect();
        if paths.len() > MAX_PATHS {
            return Err(format!("at most {MAX_PATHS} fields, got {}", paths.len()));
        }
        let mut tree = Projection::default();
        for path in paths {
            let segments: Vec<&str> = path.split('.').collect();
            if segments.len() > MAX_DEPTH {
                return Err(format!("{path:?} is deeper than {MAX_DEPTH} levels"));
            }
            if segments.iter().any(|s| s.is_empty()) {
                return Err(format!("{path:?} is not a field path (empty part)"));
            }
            check(shape, &segments).map_err(|e| format!("{path:?}: {e}"))?;
            tree.insert(&segments);
        }
        Ok(Some(tree))
    }

    fn insert(&mut self, segments: &[&str]) {
        let Some((first, rest)) = segments.split_first() else {
            return;
        };
        match self.0.iter_mut().find(|(n, _)| n == first) {
            // The whole field is asked for: it wins over any of its parts.
            Some((_, sub)) if rest.is_empty() => sub.0.clear(),
            // Already whole: a part of it adds nothing.
            Some((_, sub)) if sub.0.is_empty() => {}
            Some((_, sub)) => sub.insert(rest),
            None => {
                let mut sub = Projection::default();
                sub.insert(rest);
                self.0.push(((*first).to_string(), sub));
            }
        }
    }

    /// `value` with only the selected parts; absent parts stay absent.
    pub fn apply(&self, value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut out = Map::new();
                for (name, sub) in &self.0 {
                    if let Some(v) = map.get(name) {
                        let kept = if sub.0.is_empty() {
                            v.clone()
                        } else {
                            sub.apply(v)
                        };
                        out.insert(name.clone(), kept);
                    }
                }
                Value::Object(out)
            }
            Value::Array(items) => Value::Array(items.iter().map(|v| self.apply(v)).collect()),
            other => other.clone(),
        }
    }
}

fn check(shape: &Shape, segments: &[&str]) -> Result<(), String> {
    let mut at = shape;
    for s in segments {
        at = at.child(s)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NAMES: Shape = Shape::Object(&[("common", Shape::Leaf), ("official", Shape::Leaf)]);
    const LANGUAGE: Shape = Shape::Object(&[("code", Shape::Leaf), ("name", Shape::Leaf)]);
    const COUNTRY: Shape = Shape::Object(&[
        ("alpha2", Shape::Leaf),
        ("name", Shape::Leaf),
        (
            "latlng",
            Shape::Object(&[("lat", Shape::Leaf), ("lng", Shape::Leaf)]),
        ),
        ("languages", Shape::List(&LANGUAGE)),
        ("translations", Shape::Map(&NAMES)),
        ("capitals", Shape::Leaf),
    ]);

    fn pt() -> Value {
        json!({
            "alpha2": "PT", "name": "Portugal",
            "latlng": {"lat": 39.5, "lng": -8.0},
            "languages": [{"code": "por", "name": "Portuguese"}],
            "translations": {"deu": {"common": "Portugal", "official": "Portugiesische Republik"},
                             "jpn": {"common": "ポルトガル", "official": "ポルトガル共和国"}},
            "capitals": ["Lisbon"]
        })
    }

    fn project(fields: &str) -> Value {
        Projection::parse(Some(fields), &COUNTRY)
            .unwrap()
            .unwrap()
            .apply(&pt())
    }

    #[test]
    fn selects_top_level_and_nested_paths() {
        assert_eq!(
            project("name, capitals"),
            json!({"name": "Portugal", "capitals": ["Lisbon"]})
        );
        assert_eq!(project("latlng.lat"), json!({"latlng": {"lat": 39.5}}));
        assert_eq!(
            project("translations.deu.common,languages.code"),
            json!({"translations": {"deu": {"common": "Portugal"}}, "languages": [{"code": "por"}]})
        );
    }

    #[test]
    fn a_whole_field_wins_over_its_parts_in_any_order() {
        let whole = json!({"latlng": {"lat": 39.5, "lng": -8.0}});
        assert_eq!(project("latlng.lat,latlng"), whole);
        assert_eq!(project("latlng,latlng.lat"), whole);
    }

    #[test]
    fn absent_map_keys_are_left_out_not_errors() {
        assert_eq!(project("translations.fra"), json!({"translations": {}}));
    }

    #[test]
    fn blank_means_everything() {
        assert_eq!(Projection::parse(Some("  "), &COUNTRY), Ok(None));
        assert_eq!(Projection::parse(None, &COUNTRY), Ok(None));
    }

    #[test]
    fn unknown_and_malformed_paths_are_named() {
        let cases = [
            ("nme", "\"nme\": unknown field \"nme\""),
            ("latlng.alt", "\"latlng.alt\": unknown field \"alt\""),
            (
                "name.first",
                "\"name.first\": \"first\": the field above it has no parts",
            ),
            (
                "translations.DEU",
                "\"translations.DEU\": \"DEU\" is not a key",
            ),
            ("name,,alpha2", "\"\" is not a field path"),
            ("a.b.c.d.e", "\"a.b.c.d.e\" is deeper than 4 levels"),
        ];
        for (input, want) in cases {
            let err = Projection::parse(Some(input), &COUNTRY).unwrap_err();
            assert!(err.starts_with(want), "case {input:?}: {err}");
        }
        let many = vec!["name"; MAX_PATHS + 1].join(",");
        assert!(Projection::parse(Some(&many), &COUNTRY)
            .unwrap_err()
            .contains("at most"));
    }
}
