//! `?sort=` and keyset paging over an ordered list in memory: the cursor carries
//! the last item's sort value and key, so a page boundary holds even when items
//! before it are added or removed between two requests.

use std::cmp::Ordering;

/// What a sort compares: folded text, a number, or nothing (sorted last in both
/// directions, as SQL's `NULLS LAST` for ascending).
#[derive(Debug, Clone, PartialEq)]
pub enum SortValue {
    /// Text, compared as given (callers pass folded text).
    Text(String),
    /// A number.
    Number(f64),
    /// No value.
    Missing,
}

impl SortValue {
    fn cmp_in(&self, other: &Self, descending: bool) -> Ordering {
        let flip = |o: Ordering| if descending { o.reverse() } else { o };
        match (self, other) {
            (Self::Missing, Self::Missing) => Ordering::Equal,
            (Self::Missing, _) => Ordering::Greater,
            (_, Self::Missing) => Ordering::Less,
            (Self::Text(a), Self::Text(b)) => flip(a.cmp(b)),
            (Self::Number(a), Self::Number(b)) => flip(a.total_cmp(b)),
            // One field has one kind; mixed kinds only meet in a forged cursor.
            (Self::Text(_), Self::Number(_)) => Ordering::Less,
            (Self::Number(_), Self::Text(_)) => Ordering::Greater,
        }
    }

    fn encode(&self) -> String {
        match self {
            Self::Text(t) => format!("t{t}"),
            Self::Number(n) => format!("n{n}"),
            Self::Missing => "m".into(),
        }
    }

    fn decode(s: &str) -> Option<Self> {
        match s.split_at_checked(1)? {
            ("t", t) => Some(Self::Text(t.to_string())),
            ("n", n) => n
                .parse()
                .ok()
                .filter(|n: &f64| n.is_finite())
                .map(Self::Number),
            ("m", "") => Some(Self::Missing),
            _ => None,
        }
    }
}

/// A sortable field of one resource.
pub trait SortField: Copy + Eq + 'static {
    /// Every field and its name in `?sort=`, the default first: the resource's
    /// key, the tie-break of every other order.
    const ALL: &'static [(&'static str, Self)];
}

/// A checked `?sort=`: one field, ascending or (`-name`) descending; ties are
/// broken by the resource's key, ascending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Order<F> {
    /// The field.
    pub field: F,
    /// `-field`.
    pub descending: bool,
}

impl<F: SortField> Order<F> {
    /// Parse `sort`; absent or blank is the default field, ascending.
    ///
    /// # Errors
    /// A field this resource cannot be sorted by; the message lists those it can.
    pub fn parse(raw: Option<&str>) -> Result<Self, String> {
        let raw = raw.map(str::trim).unwrap_or("");
        let (descending, name) = match raw.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, raw.strip_prefix('+').unwrap_or(raw)),
        };
        if name.is_empty() && !descending {
            return Ok(Self {
                field: F::ALL[0].1,
                descending: false,
            });
        }
        F::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, field)| Self {
                field: *field,
                descending,
            })
            .ok_or_else(|| {
                let names: Vec<&str> = F::ALL.iter().map(|(n, _)| *n).collect();
                format!(
                    "cannot sort by {name:?}; use one of {} (prefix - for descending)",
                    names.join(", ")
                )
            })
    }

    /// The name as `sort` takes it (`-name`), for `next` links.
    pub fn name(&self) -> String {
        let n = F::ALL
            .iter()
            .find(|(_, f)| *f == self.field)
            .map_or("", |(n, _)| n);
        if self.descending {
            format!("-{n}")
        } else {
            n.to_string()
        }
    }

    /// Whether this is the default order (the `next` link can leave `sort` out).
    pub fn is_default(&self) -> bool {
        self.field == F::ALL[0].1 && !self.descending
    }
}

/// Where the next page starts: the last item's sort value and key. Opaque to
/// callers; `key` alone when the order is by key.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    key: String,
    value: Option<SortValue>,
}

/// Longest cursor accepted, in bytes.
const MAX_CURSOR: usize = 600;

impl Cursor {
    /// Parse a `next_cursor` value.
    ///
    /// # Errors
    /// A value no page could have produced.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let bad = || format!("{raw:?} is not a cursor from this API");
        if raw.len() > MAX_CURSOR {
            return Err(bad());
        }
        let (key, value) = match raw.split_once('~') {
            Some((k, hex)) => (
                k,
                Some(
                    unhex(hex)
                        .and_then(|v| SortValue::decode(&v))
                        .ok_or_else(bad)?,
                ),
            ),
            None => (raw, None),
        };
        let key_ok = (1..=64).contains(&key.len())
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/_+-".contains(&b));
        if !key_ok {
            return Err(bad());
        }
        Ok(Self {
            key: key.to_string(),
            value,
        })
    }

    /// The cursor as `next_cursor` carries it.
    pub fn encode(&self) -> String {
        match &self.value {
            None => self.key.clone(),
            Some(v) => format!("{}~{}", self.key, hex(&v.encode())),
        }
    }
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<String> {
    if s.len() % 2 != 0 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

/// One page of a list in memory.
#[derive(Debug)]
pub struct Paged<'a, T> {
    /// This page's items.
    pub items: Vec<&'a T>,
    /// Every match, over all pages.
    pub total: usize,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Cursor>,
}

/// How an ordered list reads its items: the key (unique, the tie-break) and the
/// value of a sort field.
pub trait Keyed<F> {
    /// The unique key (`PT`, `EUR`, `PT-05`).
    fn key(&self) -> &str;
    /// The value `field` sorts by.
    fn sort_value(&self, field: F) -> SortValue;
}

impl<F, T: Keyed<F>> Keyed<F> for crate::catalog::Encoded<T> {
    fn key(&self) -> &str {
        self.value.key()
    }

    fn sort_value(&self, field: F) -> SortValue {
        self.value.sort_value(field)
    }
}

/// The page of `matches` after `after`, `limit` long, in `order`.
pub fn page<'a, F: SortField, T: Keyed<F>>(
    matches: impl Iterator<Item = &'a T>,
    order: Order<F>,
    by_key: bool,
    after: Option<&Cursor>,
    limit: usize,
) -> Paged<'a, T> {
    let mut rows: Vec<(SortValue, &T)> = matches
        .map(|t| {
            (
                if by_key {
                    SortValue::Missing
                } else {
                    t.sort_value(order.field)
                },
                t,
            )
        })
        .collect();
    let cmp = |a: &(SortValue, &T), b_value: &SortValue, b_key: &str| {
        a.0.cmp_in(b_value, order.descending).then_with(|| {
            let o = a.1.key().cmp(b_key);
            if by_key && order.descending {
                o.reverse()
            } else {
                o
            }
        })
    };
    rows.sort_by(|a, b| cmp(a, &b.0, b.1.key()));
    let total = rows.len();
    let start = match after {
        None => 0,
        Some(c) => {
            let v = if by_key {
                SortValue::Missing
            } else {
                c.value.clone().unwrap_or(SortValue::Missing)
            };
            rows.partition_point(|r| cmp(r, &v, &c.key) != Ordering::Greater)
        }
    };
    let end = (start + limit).min(total);
    let next = (end < total && end > start).then(|| {
        let (v, t) = &rows[end - 1];
        Cursor {
            key: t.key().to_string(),
            value: (!by_key).then(|| v.clone()),
        }
    });
    Paged {
        items: rows[start..end].iter().map(|(_, t)| *t).collect(),
        total,
        next,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum F {
        Code,
        Name,
        Area,
    }

    impl SortField for F {
        const ALL: &'static [(&'static str, Self)] =
            &[("code", F::Code), ("name", F::Name), ("area", F::Area)];
    }

    struct Item(&'static str, &'static str, Option<f64>);

    impl Keyed<F> for Item {
        fn key(&self) -> &str {
            self.0
        }
        fn sort_value(&self, f: F) -> SortValue {
            match f {
                F::Code => SortValue::Text(self.0.into()),
                F::Name => SortValue::Text(self.1.into()),
                F::Area => self.2.map_or(SortValue::Missing, SortValue::Number),
            }
        }
    }

    const ITEMS: [Item; 5] = [
        Item("AQ", "antarctica", None),
        Item("CH", "switzerland", Some(41284.0)),
        Item("ES", "spain", Some(505992.0)),
        Item("PT", "portugal", Some(92212.0)),
        Item("XA", "portugal", Some(92212.0)),
    ];

    fn walk(sort: &str, limit: usize) -> Vec<Vec<&'static str>> {
        let order = Order::<F>::parse(Some(sort)).unwrap();
        let by_key = order.field == F::Code;
        let mut pages = Vec::new();
        let mut after: Option<Cursor> = None;
        for _ in 0..10 {
            let p = page(ITEMS.iter(), order, by_key, after.as_ref(), limit);
            pages.push(p.items.iter().map(|i| i.0).collect());
            match p.next {
                // Through the wire format, as a caller sends it back.
                Some(c) => after = Some(Cursor::parse(&c.encode()).unwrap()),
                None => return pages,
            }
        }
        panic!("paging did not end: {pages:?}");
    }

    #[test]
    fn pages_follow_the_order_with_ties_broken_by_key() {
        assert_eq!(
            walk("", 2),
            vec![vec!["AQ", "CH"], vec!["ES", "PT"], vec!["XA"]]
        );
        assert_eq!(
            walk("-code", 2),
            vec![vec!["XA", "PT"], vec!["ES", "CH"], vec!["AQ"]]
        );
        assert_eq!(
            walk("name", 2),
            vec![vec!["AQ", "PT"], vec!["XA", "ES"], vec!["CH"]]
        );
        assert_eq!(
            walk("-area", 2),
            vec![vec!["ES", "PT"], vec!["XA", "CH"], vec!["AQ"]]
        );
        assert_eq!(
            walk("area", 3),
            vec![vec!["CH", "PT", "XA"], vec!["ES", "AQ"]]
        );
    }

    #[test]
    fn a_cursor_holds_when_its_item_is_gone() {
        let order = Order::<F>::parse(Some("-area")).unwrap();
        let first = page(ITEMS.iter(), order, false, None, 1);
        let c = first.next.unwrap();
        assert_eq!(c.key, "ES");
        let rest: Vec<&Item> = ITEMS.iter().filter(|i| i.0 != "ES").collect();
        let p = page(rest.into_iter(), order, false, Some(&c), 2);
        assert_eq!(
            p.items.iter().map(|i| i.0).collect::<Vec<_>>(),
            ["PT", "XA"]
        );
    }

    #[test]
    fn unknown_sorts_and_forged_cursors_are_refused() {
        let err = Order::<F>::parse(Some("-population")).unwrap_err();
        assert!(
            err.contains("\"population\"") && err.contains("code, name, area"),
            "{err}"
        );
        for bad in [
            "",
            "P T",
            "PT~zz",
            "PT~6",
            "PT~78",
            &"A".repeat(65),
            &format!("PT~{}", "74".repeat(400)),
        ] {
            assert!(Cursor::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(Cursor::parse("pt-05").unwrap().encode(), "pt-05");
        assert_eq!(Order::<F>::parse(Some("+name")).unwrap().name(), "name");
    }
}
