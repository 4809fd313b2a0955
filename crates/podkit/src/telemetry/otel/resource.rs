//! The OTel resource: who is exporting (`service.name`, `service.version`, …).

use opentelemetry::KeyValue;
use opentelemetry_sdk::Resource;

use super::OtelError;
use crate::build::BuildInfo;
use crate::config::OtelConfig;

/// `service.name` (`OTEL_SERVICE_NAME`, else `service.name` in the attributes, else
/// the build's name), `service.version` (the release unless the attributes say),
/// the SDK's identity and `OTEL_RESOURCE_ATTRIBUTES`.
pub(super) fn resource(cfg: &OtelConfig, build: &BuildInfo) -> Result<Resource, OtelError> {
    let attrs = parse_attributes(cfg.resource_attributes.as_deref().unwrap_or(""))?;
    let given = |key: &str| attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let name = cfg.service_name_or(build.name);
    let version = given("service.version").unwrap_or_else(|| build.release.to_owned());
    Ok(Resource::builder_empty()
        .with_detector(Box::new(
            opentelemetry_sdk::resource::TelemetryResourceDetector,
        ))
        .with_attributes(attrs.into_iter().map(|(k, v)| KeyValue::new(k, v)))
        .with_attribute(KeyValue::new("service.version", version))
        .with_service_name(name)
        .build())
}

fn parse_attributes(raw: &str) -> Result<Vec<(String, String)>, OtelError> {
    crate::config::otel::resource_attributes(raw).map_err(OtelError)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_attributes_parse_and_percent_decode() {
        let cases = [
            ("", Some(vec![])),
            ("a=1", Some(vec![("a", "1")])),
            (" a = 1 , b=x%2Cy ,", Some(vec![("a", "1"), ("b", "x,y")])),
            (
                "deployment.environment=prod%20eu",
                Some(vec![("deployment.environment", "prod eu")]),
            ),
            ("novalue", None),
            ("=1", None),
            ("a=%zz", None),
        ];
        for (raw, want) in cases {
            let got = parse_attributes(raw).ok();
            let want = want.map(|v| {
                v.into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<Vec<_>>()
            });
            assert_eq!(got, want, "case {raw:?}");
        }
    }

    #[test]
    fn service_name_prefers_the_variable_then_the_attribute_then_the_build() {
        let build = BuildInfo {
            name: "svc",
            release: "1.2.3",
            commit: "c",
            build_time: "t",
        };
        let get = |r: &Resource, k: &'static str| r.get(&k.into()).map(|v| v.to_string());
        let mut cfg = OtelConfig::default();
        let r = resource(&cfg, &build).unwrap();
        assert_eq!(get(&r, "service.name").as_deref(), Some("svc"));
        assert_eq!(get(&r, "service.version").as_deref(), Some("1.2.3"));
        cfg.resource_attributes = Some("service.name=attr,team=geo".into());
        let r = resource(&cfg, &build).unwrap();
        assert_eq!(get(&r, "service.name").as_deref(), Some("attr"));
        assert_eq!(get(&r, "team").as_deref(), Some("geo"));
        cfg.service_name = Some("var".into());
        let r = resource(&cfg, &build).unwrap();
        assert_eq!(get(&r, "service.name").as_deref(), Some("var"));
    }
}
