//! Coordinates on Earth, in degrees.

/// Latitude, -90 to 90.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latitude(f64);

/// Longitude, -180 to 180.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Longitude(f64);

fn within(value: f64, bound: f64) -> Result<f64, String> {
    // NaN fails `contains`, as it should.
    if (-bound..=bound).contains(&value) {
        Ok(value)
    } else {
        Err(format!("expected -{bound} to {bound}, got {value}"))
    }
}

impl Latitude {
    /// # Errors
    /// Outside -90..=90, or not a number.
    pub fn parse(value: f64) -> Result<Self, String> {
        within(value, 90.0).map(Self)
    }

    /// Degrees.
    pub fn degrees(self) -> f64 {
        self.0
    }
}

impl Longitude {
    /// # Errors
    /// Outside -180..=180, or not a number.
    pub fn parse(value: f64) -> Result<Self, String> {
        within(value, 180.0).map(Self)
    }

    /// Degrees.
    pub fn degrees(self) -> f64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_stay_on_earth() {
        let lat = [
            (90.0, true),
            (-90.0, true),
            (90.5, false),
            (f64::NAN, false),
        ];
        for (v, ok) in lat {
            assert_eq!(Latitude::parse(v).is_ok(), ok, "lat {v}");
        }
        let lon = [
            (180.0, true),
            (-180.0, true),
            (-181.0, false),
            (f64::INFINITY, false),
        ];
        for (v, ok) in lon {
            assert_eq!(Longitude::parse(v).is_ok(), ok, "lon {v}");
        }
    }
}
