//! `print status --format json`: the machine-readable report (docs/status-json.md).

use super::{ServiceStatus, SCHEMA_REPORTED, SCHEMA_VERSION};

/// Serializes the status as one line of JSON, every control character escaped (it may be
/// printed on a terminal).
pub fn render_json(status: &ServiceStatus) -> String {
    // Plain strings, integers and enums cannot fail to serialize; keep a valid document anyway.
    let json = serde_json::to_string(status).unwrap_or_else(|_| {
        format!(
            "{{\"schema\":{},\"error\":\"serialization failed\"}}",
            status.schema
        )
    });
    crate::text::json_safe(json)
}

/// Parses a document produced by [`render_json`] (a peer's status, a saved report). Unknown
/// fields are ignored (additive changes keep the schema); an unknown `schema` is refused.
pub fn parse_json(text: &str) -> Result<ServiceStatus, serde_json::Error> {
    let status: ServiceStatus = serde_json::from_str(text)?;
    if status.schema != SCHEMA_VERSION && status.schema != SCHEMA_REPORTED {
        return Err(serde::de::Error::custom(format!(
            "status schema {} is not supported (expected {SCHEMA_VERSION}, or \
             {SCHEMA_REPORTED} for a status mapped from another agent)",
            status.schema
        )));
    }
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{aggregate, Flags, ResourceStatus, Status, SyncInfo};

    #[test]
    fn field_names_follow_the_design() {
        let r = ResourceStatus {
            provisioned: None,
            rid: "fs#1".into(),
            type_name: "fs.ext4".into(),
            label: "/dev/x@/mnt".into(),
            status: Status::Down,
            flags: Flags {
                monitored: true,
                ..Flags::default()
            },
            standby: false,
            comments: vec!["not mounted".into()],
        };
        let sync = SyncInfo {
            rid: "sync#1".into(),
            last_sync: None,
            max_delay_s: 86400,
        };
        let s = aggregate(
            "svc",
            "deb1",
            "2014-06-06T15:08:25Z".into(),
            vec![r],
            vec![sync],
        );
        let json = render_json(&s);
        assert_eq!(
            json,
            r#"{"schema":1,"service":"svc","node":"deb1","updated":"2014-06-06T15:08:25Z","overall":"down","avail":"down","sync":"n/a","hb":"n/a","resources":[{"rid":"fs#1","type":"fs.ext4","label":"/dev/x@/mnt","status":"down","flags":"M...","standby":false,"comments":["not mounted"]}],"syncs":[{"rid":"sync#1","last_sync":null,"max_delay_s":86400}]}"#
        );
        assert!(!json.contains('\n'));
        assert_eq!(parse_json(&json).unwrap(), s);
    }

    #[test]
    fn ignores_unknown_fields_but_not_unknown_schemas() {
        let doc = r#"{"schema":1,"service":"s","node":"n","updated":"","overall":"up","avail":"up","sync":"n/a","hb":"n/a","resources":[],"syncs":[],"later":true}"#;
        assert!(parse_json(doc).is_ok());
        // 2 is a status mapped from another agent's; 3 is unknown.
        let mapped = doc.replace(r#""schema":1"#, r#""schema":2"#);
        assert!(parse_json(&mapped).is_ok());
        let next = doc.replace(r#""schema":1"#, r#""schema":3"#);
        assert!(parse_json(&next).is_err());
    }

    #[test]
    fn rejects_unknown_words() {
        let bad = r#"{"schema":1,"service":"s","node":"n","updated":"","overall":"sideways","avail":"up","sync":"up","hb":"up","resources":[],"syncs":[]}"#;
        assert!(parse_json(bad).is_err());
    }
}
