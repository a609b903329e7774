//! The virus scanner's settings: clamd, ICAP services, and the policy that
//! combines their verdicts.

use crate::ConfigError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The engine name that means clamd in `engines` and `optional`.
pub const CLAMD: &str = "clamd";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScannerConfig {
    /// Scan every upload. Switching it off is logged as a warning and shown by /readyz.
    pub enabled: bool,
    /// The engines that scan every upload, in order: `clamd` and the names
    /// of services under `scanner.icap`.
    pub engines: Vec<String>,
    /// `all`: a file is accepted when every engine calls it clean; `any`:
    /// when one does. A detection by any engine always refuses the file.
    pub policy: ScanPolicy,
    /// Engines whose being down, or failing on a file, does not refuse
    /// uploads (a detection by them still does).
    pub optional: Vec<String>,
    /// ICAP services (RFC 3507) by name, e.g. `[scanner.icap.kaspersky]`.
    pub icap: BTreeMap<String, IcapConfig>,
    /// clamd's Unix socket (`LocalSocket` in clamd.conf).
    pub socket: PathBuf,
    /// Or clamd's TCP address, e.g. "127.0.0.1:3310" (takes precedence over `socket` when set).
    pub tcp: String,
    /// Seconds to connect to an engine.
    pub connect_timeout_seconds: u64,
    /// Seconds for a whole scan, from the first byte to the verdict.
    pub scan_timeout_seconds: u64,
    /// What an engine reads of one file and of a whole archive (clamd's
    /// `MaxFileSize` and `MaxScanSize`, both at least this): archives
    /// unpacking past it are refused, and the self-test checks every engine
    /// reads this far.
    pub max_scan_bytes: u64,
    /// Minutes between self-tests of the engines with harmless test files.
    pub self_test_minutes: u64,
}

impl Default for ScannerConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            engines: vec![CLAMD.to_string()],
            policy: ScanPolicy::All,
            optional: Vec::new(),
            icap: BTreeMap::new(),
            socket: PathBuf::from("/var/run/clamav/clamd.ctl"),
            tcp: String::new(),
            connect_timeout_seconds: 5,
            scan_timeout_seconds: 60,
            max_scan_bytes: 100 * 1024 * 1024,
            self_test_minutes: 10,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScanPolicy {
    All,
    Any,
}

/// An ICAP antivirus service, e.g. Kaspersky Scan Engine or Dr.Web in ICAP mode.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IcapConfig {
    /// `icap://host[:port]/service` (port 1344 when omitted).
    pub url: String,
    /// `respmod`: the file travels as an HTTP response (what most services
    /// scan); `reqmod`: as an upload.
    pub method: IcapMethod,
    /// Connections at once, at most (fewer when the service's
    /// `Max-Connections` says so).
    pub max_connections: usize,
}

impl Default for IcapConfig {
    fn default() -> Self {
        Self { url: String::new(), method: IcapMethod::Respmod, max_connections: 16 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IcapMethod {
    Respmod,
    Reqmod,
}

impl IcapMethod {
    /// As the request line and `Methods` spell it.
    pub fn name(self) -> &'static str {
        match self {
            IcapMethod::Respmod => "RESPMOD",
            IcapMethod::Reqmod => "REQMOD",
        }
    }
}

/// `icap://host[:port]/service` as `("host:port", "/service")`.
pub fn icap_address(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("icap://")?;
    let (authority, path) = rest.split_at(rest.find('/')?);
    let valid = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-._[]:".contains(c));
    if !valid(authority) || path.len() < 2 || path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    // A port after the host (after `]` for an IPv6 address), or 1344.
    let host_end = if authority.starts_with('[') {
        authority.find(']')? + 1
    } else {
        authority.find(':').unwrap_or(authority.len())
    };
    let authority = match &authority[host_end..] {
        "" => format!("{authority}:1344"),
        port => {
            port.strip_prefix(':')?.parse::<u16>().ok().filter(|p| *p > 0)?;
            authority.to_string()
        }
    };
    Some((authority, path.to_string()))
}

impl ScannerConfig {
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |setting, why: String| Err(ConfigError::Invalid(setting, why));
        if self.self_test_minutes == 0 {
            return invalid("scanner.self_test_minutes", "must be at least 1".into());
        }
        if self.connect_timeout_seconds == 0 || self.scan_timeout_seconds == 0 {
            return invalid("scanner", "timeouts must be at least 1 second".into());
        }
        if self.engines.is_empty() {
            return invalid("scanner.engines", "name at least one engine (clamd, or an ICAP service)".into());
        }
        for (i, engine) in self.engines.iter().enumerate() {
            if engine != CLAMD && !self.icap.contains_key(engine) {
                return invalid(
                    "scanner.engines",
                    format!("`{engine}` is neither clamd nor a [scanner.icap.{engine}]"),
                );
            }
            if self.engines[..i].contains(engine) {
                return invalid("scanner.engines", format!("`{engine}` is named twice"));
            }
        }
        if let Some(o) = self.optional.iter().find(|o| !self.engines.contains(o)) {
            return invalid("scanner.optional", format!("`{o}` is not one of scanner.engines"));
        }
        for (name, service) in &self.icap {
            if !self.engines.contains(name) {
                return invalid("scanner.icap", format!("`{name}` is not one of scanner.engines"));
            }
            if service.url.starts_with("icaps://") {
                return invalid("scanner.icap.url", format!("`{name}`: icaps:// (TLS) is not supported yet"));
            }
            if icap_address(&service.url).is_none() {
                return invalid("scanner.icap.url", format!("`{name}`: must be icap://HOST[:PORT]/SERVICE"));
            }
            if service.max_connections == 0 {
                return invalid("scanner.icap.max_connections", format!("`{name}`: must be at least 1"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icap_addresses() {
        assert_eq!(icap_address("icap://av.local/avscan"), Some(("av.local:1344".into(), "/avscan".into())));
        assert_eq!(icap_address("icap://10.0.0.5:11344/drweb"), Some(("10.0.0.5:11344".into(), "/drweb".into())));
        assert_eq!(icap_address("icap://[::1]:1344/srv"), Some(("[::1]:1344".into(), "/srv".into())));
        assert_eq!(icap_address("icap://[::1]/srv"), Some(("[::1]:1344".into(), "/srv".into())));
        for bad in [
            "http://a/b",
            "icap://a",
            "icap://a/",
            "icap:///b",
            "icap://a b/c",
            "icap://a/b c",
            "icap://a:0/b",
            "icap://a:x/b",
            "icap://[::1/b",
        ] {
            assert_eq!(icap_address(bad), None, "{bad}");
        }
    }

    #[test]
    fn engines_must_be_known_and_used() {
        let with = |toml: &str| crate::Config::from_toml(&format!("[scanner]\n{toml}"));
        assert!(with("").is_ok());
        let good = "engines = [\"clamd\", \"kav\"]\noptional = [\"kav\"]\npolicy = \"any\"\n\
                    [scanner.icap.kav]\nurl = \"icap://127.0.0.1/av\"\nmethod = \"reqmod\"";
        let c = with(good).unwrap();
        assert_eq!((c.scanner.policy, c.scanner.icap["kav"].method), (ScanPolicy::Any, IcapMethod::Reqmod));
        for (bad, setting) in [
            ("engines = []", "scanner.engines"),
            ("engines = [\"kav\"]", "scanner.engines"),
            ("engines = [\"clamd\", \"clamd\"]", "scanner.engines"),
            ("optional = [\"kav\"]", "scanner.optional"),
            ("[scanner.icap.kav]\nurl = \"icap://a/b\"", "scanner.icap"),
            ("engines = [\"kav\"]\n[scanner.icap.kav]\nurl = \"icaps://a/b\"", "scanner.icap.url"),
            ("engines = [\"kav\"]\n[scanner.icap.kav]\nurl = \"a/b\"", "scanner.icap.url"),
            (
                "engines = [\"kav\"]\n[scanner.icap.kav]\nurl = \"icap://a/b\"\nmax_connections = 0",
                "scanner.icap.max_connections",
            ),
        ] {
            match with(bad) {
                Err(ConfigError::Invalid(s, _)) => assert_eq!(s, setting, "{bad}"),
                other => panic!("{bad}: {:?}", other.map(|_| ())),
            }
        }
        assert!(with("policy = \"some\"").is_err());
    }
}
