//! Paging parameters: how many items, and where to start.

/// A page size within bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimit(u32);

impl PageLimit {
    /// `value`, or `default` when absent; it must be 1 to `max`.
    ///
    /// # Errors
    /// 0, or above `max`.
    pub fn parse(value: Option<u32>, default: u32, max: u32) -> Result<Self, String> {
        match value {
            None => Ok(Self(default.min(max).max(1))),
            Some(l) if (1..=max).contains(&l) => Ok(Self(l)),
            Some(l) => Err(format!("expected 1 to {max}, got {l}")),
        }
    }

    /// The size.
    pub fn get(self) -> u32 {
        self.0
    }

    /// The size as an index bound.
    pub fn as_usize(self) -> usize {
        self.0 as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_default_and_stay_in_bounds() {
        let cases = [
            (None, 50, 250, Some(50)),
            (None, 50, 20, Some(20)),
            (Some(1), 50, 250, Some(1)),
            (Some(250), 50, 250, Some(250)),
            (Some(0), 50, 250, None),
            (Some(251), 50, 250, None),
        ];
        for (value, default, max, want) in cases {
            let got = PageLimit::parse(value, default, max)
                .ok()
                .map(PageLimit::get);
            assert_eq!(got, want, "case {value:?} default {default} max {max}");
        }
    }
}
