//! Country flags: SVGs embedded at build time (npm `flag-icons`, MIT) in two
//! [`Ratio`]s, 4:3 and 1:1, rendered to PNG in-process with resvg on demand.
//! Rendered PNGs are cached by (code, ratio, width) in a cache bounded by bytes, so
//! a flood of random widths costs CPU, never unbounded memory. Renders run on a
//! bounded pool (`api.flag_render_concurrency` at once, each holding a pixmap of up
//! to 1024 × 1024 × 4 bytes); a request that cannot get
//! a slot within `api.flag_render_wait` is refused ([`RenderError::Busy`], a 503
//! with `Retry-After`) rather than queued without end.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use quick_cache::sync::Cache;
use quick_cache::Weighter;

include!(concat!(env!("OUT_DIR"), "/flags.rs"));

/// Smallest and largest PNG width served.
pub const WIDTHS: std::ops::RangeInclusive<u32> = 16..=1024;

/// A flag's aspect ratio: flag-icons draws every flag in both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Ratio {
    /// 4:3, the default.
    #[default]
    FourByThree,
    /// 1:1 (square).
    Square,
}

impl Ratio {
    /// The embedded SVGs of this ratio, by alpha-2 code.
    fn table(self) -> &'static [(&'static str, &'static [u8])] {
        match self {
            Ratio::FourByThree => FLAGS_GZ,
            Ratio::Square => FLAGS_1X1_GZ,
        }
    }

    /// Where `alpha2` sits in [`Self::table`].
    fn index(self, alpha2: &str) -> Option<usize> {
        self.table()
            .binary_search_by(|(c, _)| (*c).cmp(alpha2))
            .ok()
    }
}

/// The gzip-compressed SVG for an alpha-2 code (embedded compressed: a third of the
/// size in the binary, and sent as is to clients that accept gzip).
pub fn svg_gz(alpha2: &str, ratio: Ratio) -> Option<&'static [u8]> {
    ratio.index(alpha2).map(|i| ratio.table()[i].1)
}

/// The ETag of a flag's rendition (`variant`: 0 for the SVG, else the PNG width):
/// the hash of its SVG in that ratio, taken once per flag, continued with the
/// variant. Artwork changed by a new release changes the tag, so caches that
/// revalidate get the new flag (see `api.cache_control.flags`).
pub fn etag(alpha2: &str, ratio: Ratio, variant: u32) -> Option<String> {
    use crate::domain::etag::{etag_of, fnv1a, FNV_OFFSET};
    type States = std::sync::OnceLock<Vec<u64>>;
    static STATES: [States; 2] = [States::new(), States::new()];
    let states = STATES[ratio as usize].get_or_init(|| {
        ratio
            .table()
            .iter()
            .map(|(_, gz)| fnv1a(FNV_OFFSET, gz))
            .collect()
    });
    Some(etag_of(states[ratio.index(alpha2)?], variant))
}

/// The SVG for an alpha-2 code, inflated.
pub fn svg(alpha2: &str, ratio: Ratio) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(svg_gz(alpha2, ratio)?)
        .read_to_end(&mut out)
        .ok()?;
    Some(out)
}

#[derive(Clone)]
struct Bytes;

impl Weighter<Key, Png> for Bytes {
    fn weight(&self, _: &Key, v: &Png) -> u64 {
        v.len() as u64 + 64
    }
}

/// A rendered PNG: shared by the cache and every response that sends it.
pub type Png = axum::body::Bytes;

/// (alpha-2 code, ratio, width): no allocation to look one up.
type Key = ([u8; 2], Ratio, u32);

/// Rendered PNGs by (alpha-2, ratio, width), weighed in bytes.
type PngCache = Cache<Key, Png, Bytes>;

/// Renders and caches PNGs.
#[derive(Clone)]
pub struct FlagRenderer {
    cache: Arc<PngCache>,
    slots: Arc<Semaphore>,
    concurrency: usize,
    wait: Duration,
}

/// Why a PNG could not be made.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The embedded SVG does not parse (a packaging bug).
    #[error("flag SVG does not parse: {0}")]
    Parse(String),
    /// The target size is empty or too large.
    #[error("cannot allocate a {0}px image")]
    Size(u32),
    /// PNG encoding failed.
    #[error("PNG encoding failed: {0}")]
    Encode(String),
    /// Every render slot stayed taken for the whole wait.
    #[error("all {slots} flag render slots are busy; retry shortly")]
    Busy {
        /// `api.flag_render_concurrency`.
        slots: usize,
    },
}

impl FlagRenderer {
    /// A renderer whose cache holds at most `max_bytes` of PNGs, rendering at most
    /// `concurrency` at once; a render waits at most `wait` for its turn.
    pub fn new(max_bytes: u64, concurrency: usize, wait: Duration) -> Self {
        // Estimated items only sizes the cache's internal tables.
        Self {
            cache: Arc::new(Cache::with_weighter(512, max_bytes, Bytes)),
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            concurrency: concurrency.max(1),
            wait,
        }
    }

    /// The PNG of `alpha2`'s flag at `width` pixels (height from the SVG of that
    /// ratio: ¾ of the width, or all of it), from the cache or rendered now (on a
    /// blocking thread: rendering is CPU work).
    ///
    /// # Errors
    /// See [`RenderError`].
    pub async fn png(
        &self,
        alpha2: &str,
        ratio: Ratio,
        width: u32,
    ) -> Result<(Png, bool), RenderError> {
        let code: [u8; 2] = alpha2
            .as_bytes()
            .try_into()
            .map_err(|_| RenderError::Parse(format!("no flag for {alpha2}")))?;
        let key = (code, ratio, width);
        if let Some(hit) = self.cache.get(&key) {
            return Ok((hit, true));
        }
        let slots = self.slots.clone();
        let busy = || RenderError::Busy {
            slots: self.concurrency,
        };
        let permit = match tokio::time::timeout(self.wait, slots.acquire_owned()).await {
            Ok(Ok(permit)) => permit,
            // Never closed; treated as busy all the same.
            Ok(Err(_)) | Err(_) => return Err(busy()),
        };
        let span = tracing::Span::current();
        let code = alpha2.to_string();
        let png = tokio::task::spawn_blocking(move || {
            // The slot is held until the render ends, even if the caller hangs up.
            let _permit = permit;
            span.in_scope(|| {
                render(
                    &svg(&code, ratio)
                        .ok_or_else(|| RenderError::Parse(format!("no flag for {code}")))?,
                    width,
                )
            })
        })
        .await
        .map_err(|e| RenderError::Encode(e.to_string()))??;
        let png = Png::from(png);
        self.cache.insert(key, png.clone());
        Ok((png, false))
    }

    /// Bytes held by the cache now.
    pub fn cached_bytes(&self) -> u64 {
        self.cache.weight()
    }
}

/// Render an SVG to a PNG `width` pixels wide.
///
/// # Errors
/// See [`RenderError`].
pub fn render(svg: &[u8], width: u32) -> Result<Vec<u8>, RenderError> {
    let tree = resvg::usvg::Tree::from_data(svg, &resvg::usvg::Options::default())
        .map_err(|e| RenderError::Parse(e.to_string()))?;
    let size = tree.size();
    let scale = width as f32 / size.width();
    let height = (size.height() * scale).round().max(1.0) as u32;
    let mut pixmap =
        resvg::tiny_skia::Pixmap::new(width, height).ok_or(RenderError::Size(width))?;
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| RenderError::Encode(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_seeded_flag_parses_and_renders_in_both_ratios() {
        assert!(FLAGS_GZ.len() >= 245, "{}", FLAGS_GZ.len());
        let codes = |t: &[(&str, &[u8])]| t.iter().map(|(c, _)| c.to_string()).collect::<Vec<_>>();
        assert_eq!(
            codes(FLAGS_GZ),
            codes(FLAGS_1X1_GZ),
            "the same flags in both"
        );
        for (ratio, height) in [(Ratio::FourByThree, 12), (Ratio::Square, 16)] {
            for (code, _) in ratio.table() {
                let png = render(&svg(code, ratio).unwrap(), 16)
                    .unwrap_or_else(|e| panic!("{code} {ratio:?}: {e}"));
                assert_eq!(&png[1..4], b"PNG", "{code}");
                // IHDR: width then height, big-endian, from byte 16.
                let h = u32::from_be_bytes(png[20..24].try_into().unwrap());
                assert_eq!(h, height, "{code} {ratio:?}");
            }
        }
    }

    #[test]
    fn each_ratio_and_variant_has_its_own_etag() {
        let tags = [
            etag("PT", Ratio::FourByThree, 0),
            etag("PT", Ratio::Square, 0),
            etag("PT", Ratio::FourByThree, 64),
            etag("PT", Ratio::Square, 64),
            etag("ES", Ratio::Square, 64),
        ];
        let distinct: std::collections::HashSet<_> = tags.iter().flatten().collect();
        assert_eq!(distinct.len(), tags.len(), "{tags:?}");
        assert_eq!(etag("XX", Ratio::Square, 0), None);
    }

    #[test]
    fn the_cache_never_exceeds_its_byte_budget() {
        let r = FlagRenderer::new(200_000, 2, Duration::from_secs(5));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        for (i, width) in (16..=1024).step_by(37).enumerate() {
            let ratio = [Ratio::FourByThree, Ratio::Square][i % 2];
            rt.block_on(r.png("PT", ratio, width)).unwrap();
            assert!(
                r.cached_bytes() <= 200_000,
                "{} after width {width}",
                r.cached_bytes()
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn renders_beyond_the_pool_wait_then_are_refused_as_busy() {
        let r = FlagRenderer::new(0, 1, Duration::from_millis(20));
        // Hold the one slot, as a long render would.
        let held = r.slots.clone().acquire_owned().await.unwrap();
        let started = std::time::Instant::now();
        let refused = r.png("PT", Ratio::Square, 1024).await;
        assert!(
            matches!(refused, Err(RenderError::Busy { slots: 1 })),
            "{refused:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "the wait is bounded"
        );
        drop(held);
        assert!(
            r.png("PT", Ratio::FourByThree, 64).await.is_ok(),
            "a free slot renders"
        );
        assert_eq!(r.slots.available_permits(), 1, "the slot is given back");
    }
}
