//! Where a store is: the URL or path a user gives to `--store`, parsed once.

use std::path::PathBuf;

use super::StoreError;

/// Where a store is, parsed from `--store` / `JUG_STORE` or derived from the graph file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// A directory (a plain path or `file://` URL).
    Local(PathBuf),
    /// `memory://`: lives and dies with the process.
    Memory,
    /// `s3://bucket/prefix`: any S3-compatible service, configured by the standard `AWS_*`
    /// environment (`AWS_ENDPOINT`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_REGION`, `AWS_ALLOW_HTTP`).
    S3 { bucket: String, prefix: String },
    /// `redis://host:port[/db][?prefix=name]`: a Redis server, keys under `name:` (default
    /// `jug:`), so several projects can share one database.
    Redis { url: String, prefix: String },
}

impl StoreLocation {
    /// Parses a store URL or path.
    pub fn parse(text: &str) -> Result<StoreLocation, StoreError> {
        let bad =
            |reason: &str| StoreError::BadUrl { url: mask_credentials(text), reason: reason.to_owned() };
        if text.is_empty() {
            return Err(bad("it is empty"));
        }
        match text.split_once("://") {
            None => Ok(StoreLocation::Local(PathBuf::from(text))),
            Some(("file", path)) if path.starts_with('/') => Ok(StoreLocation::Local(PathBuf::from(path))),
            Some(("file", _)) => Err(bad("a file:// URL needs an absolute path (file:///dir)")),
            Some(("memory", "")) => Ok(StoreLocation::Memory),
            Some(("memory", _)) => Err(bad("memory:// takes no path")),
            Some(("s3", rest)) => {
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                if bucket.is_empty() {
                    return Err(bad("an s3:// URL needs a bucket (s3://bucket/prefix)"));
                }
                Ok(StoreLocation::S3 {
                    bucket: bucket.to_owned(),
                    prefix: prefix.trim_matches('/').to_owned(),
                })
            }
            Some(("redis", rest)) => {
                let (address, query) = rest.split_once('?').unwrap_or((rest, ""));
                let prefix = match query.split_once('=') {
                    None if query.is_empty() => "jug",
                    Some(("prefix", name)) if !name.is_empty() => name,
                    _ => return Err(bad("the only option of a redis:// URL is ?prefix=NAME")),
                };
                let host = address.split('/').next().unwrap_or("");
                let host = host.rsplit('@').next().unwrap_or("");
                // `[::1]:6379`, `host:6379` or `host`: the name before the port's colon.
                let (name, port) = match host.rfind(':') {
                    Some(colon) if !host[colon..].contains(']') => (&host[..colon], Some(&host[colon + 1..])),
                    _ => (host, None),
                };
                if name.is_empty() {
                    return Err(bad("a redis:// URL needs a host (redis://127.0.0.1:6379/)"));
                }
                if port.is_some_and(|p| !p.parse::<u16>().is_ok_and(|p| p > 0)) {
                    return Err(bad(
                        "the port of a redis:// URL is a number from 1 to 65535 (redis://host:6379/)",
                    ));
                }
                let db = address.split_once('/').map_or("", |(_, db)| db);
                if !(db.is_empty() || db.parse::<u32>().is_ok()) {
                    return Err(bad("the path of a redis:// URL is a database number (redis://host:port/2)"));
                }
                Ok(StoreLocation::Redis { url: format!("redis://{address}"), prefix: prefix.to_owned() })
            }
            Some((scheme, _)) => Err(bad(&format!(
                "unsupported scheme `{scheme}`; use a directory path, file:///dir, s3://bucket/prefix, \
                 redis://host:port/ or memory://"
            ))),
        }
    }

    /// The default store of a graph file: `<stem>.jugdata` in the current directory (Jug's).
    pub fn default_for(stem: &str) -> StoreLocation {
        StoreLocation::Local(PathBuf::from(format!("{stem}.jugdata")))
    }
}

/// A URL as it may be shown: the password of `scheme://user:password@host…` replaced by
/// `***`. Every message, warning and JSON document that names a store shows it this way, so
/// a Redis password never reaches a terminal, a CI log or a script's output.
pub fn mask_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    match authority.rfind('@') {
        Some(at) if authority[..at].contains(':') => {
            let user = authority[..at].split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{}", &rest[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// The environment variables whose values are S3 credentials: an S3 server's error reply
/// (which object_store quotes) can echo the access key id.
const SECRET_VARS: [&str; 3] = ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID"];

/// `text` with every URL password in it masked (see [`mask_credentials`]), and any S3
/// credential from the environment: for messages from libraries (the redis crate,
/// object_store) that may quote what they were given.
pub fn mask_credentials_in(text: &str) -> String {
    let mut masked = mask_urls_in(text);
    for var in SECRET_VARS {
        // Values this short would mask ordinary words; real keys are 16 characters or more.
        if let Some(value) = std::env::var(var).ok().filter(|v| v.len() >= 6) {
            masked = masked.replace(&value, "***");
        }
    }
    masked
}

fn mask_urls_in(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        // The scheme is the run of URL scheme characters before `://`.
        let scheme_start = rest[..at]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
            .map_or(0, |i| i + 1);
        let end = rest[at..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`' | ')' | '>'))
            .map_or(rest.len(), |e| at + e);
        out.push_str(&rest[..scheme_start]);
        out.push_str(&mask_credentials(&rest[scheme_start..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

impl std::fmt::Display for StoreLocation {
    /// The URL with its password masked (see [`mask_credentials`]); connect with the fields.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreLocation::Local(path) => write!(f, "{}", path.display()),
            StoreLocation::Memory => f.write_str("memory://"),
            StoreLocation::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            StoreLocation::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
            StoreLocation::Redis { url, prefix } if prefix == "jug" => f.write_str(&mask_credentials(url)),
            StoreLocation::Redis { url, prefix } => write!(f, "{}?prefix={prefix}", mask_credentials(url)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_locations() {
        assert_eq!(StoreLocation::parse("x.jugdata").unwrap(), StoreLocation::Local("x.jugdata".into()));
        assert_eq!(StoreLocation::parse("file:///tmp/s").unwrap(), StoreLocation::Local("/tmp/s".into()));
        assert_eq!(StoreLocation::parse("memory://").unwrap(), StoreLocation::Memory);
        assert_eq!(
            StoreLocation::parse("s3://bucket/a/b/").unwrap(),
            StoreLocation::S3 { bucket: "bucket".into(), prefix: "a/b".into() }
        );
        assert_eq!(StoreLocation::parse("s3://bucket").unwrap().to_string(), "s3://bucket");
        assert_eq!(
            StoreLocation::parse("redis://127.0.0.1:6390/2?prefix=sweep").unwrap(),
            StoreLocation::Redis { url: "redis://127.0.0.1:6390/2".into(), prefix: "sweep".into() }
        );
        assert_eq!(StoreLocation::parse("redis://h:1/").unwrap().to_string(), "redis://h:1/");
        for bad in [
            "",
            "file://relative",
            "memory://x",
            "gopher://host/x",
            "s3://",
            "s3:///x",
            "redis://",
            "redis://h/x",
            "redis://h/?db=1",
            "redis://:99999",
            "redis://h:99999/",
            "redis://h:0/",
            "redis://h:x/",
            "redis://u:pw@:6379/",
        ] {
            assert!(matches!(StoreLocation::parse(bad), Err(StoreError::BadUrl { .. })), "{bad}");
        }
    }

    #[test]
    fn passwords_are_never_shown() {
        let location = StoreLocation::parse("redis://u:pw@h:1/2?prefix=p").unwrap();
        assert_eq!(location.to_string(), "redis://u:***@h:1/2?prefix=p");
        assert_eq!(StoreLocation::parse("redis://:pw@h:1/").unwrap().to_string(), "redis://:***@h:1/");
        assert_eq!(StoreLocation::parse("redis://u@h:1/").unwrap().to_string(), "redis://u@h:1/");
        let bad = StoreLocation::parse("redis://u:pw@h:1/x").unwrap_err().to_string();
        assert!(bad.contains("redis://u:***@h:1/x") && !bad.contains("pw"), "{bad}");
        assert_eq!(
            mask_credentials_in("cannot reach `redis://u:p@ss@h:1/` (redis://x:y@z) or http://a/b"),
            "cannot reach `redis://u:***@h:1/` (redis://x:***@z) or http://a/b"
        );
    }
}
