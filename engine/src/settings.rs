//! The polyfill's settings: environment variables read at every `connect`.
//!
//! Pure parsing (no WASI calls) so that the rules are unit-tested on the host.
//! The defaults and the timeout clamp are the protocol crate's.

use std::time::Duration;

use wasm_websocket_protocol::limits;

/// Extra trust anchors (PEM text) for `wss://`.
pub const CA_PEM: &str = "WASM_WEBSOCKET_CA_PEM";
/// A PEM file with extra trust anchors, read through a preopened directory.
pub const CA_FILE: &str = "WASM_WEBSOCKET_CA_FILE";
/// Bound on name lookup + TCP connect + TLS + WebSocket handshake, in ms.
pub const CONNECT_TIMEOUT_MS: &str = "WASM_WEBSOCKET_CONNECT_TIMEOUT_MS";
/// Bound on one `send` (or `close`) waiting for the socket to take the frame, in ms.
pub const SEND_TIMEOUT_MS: &str = "WASM_WEBSOCKET_SEND_TIMEOUT_MS";
/// Largest incoming message, in bytes.
pub const MAX_MESSAGE_SIZE: &str = "WASM_WEBSOCKET_MAX_MESSAGE_SIZE";
/// Largest incoming frame payload, in bytes.
pub const MAX_FRAME_SIZE: &str = "WASM_WEBSOCKET_MAX_FRAME_SIZE";

/// How an error text names the settings that bound a connection's message
/// and frame sizes when they come from the environment (the polyfill's and
/// the direct client's connections).
pub const SIZE_SETTINGS: &str = "WASM_WEBSOCKET_MAX_MESSAGE_SIZE / WASM_WEBSOCKET_MAX_FRAME_SIZE";

/// Extra trust anchors given by configuration: where they came from and the PEM text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraRoots {
    /// Human-readable origin, used in error texts (`WASM_WEBSOCKET_CA_FILE (/certs/ca.pem)`).
    pub source: String,
    /// The PEM text as configured (not yet parsed).
    pub pem: String,
}

/// Everything one connection reads from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub connect_timeout: Duration,
    pub send_timeout: Duration,
    pub max_message_size: usize,
    pub max_frame_size: usize,
    /// Only consulted for `wss://`; a bad CA setting fails `wss://` connects only.
    pub extra_roots: Result<Vec<ExtraRoots>, String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            connect_timeout: limits::DEFAULT_CONNECT_TIMEOUT,
            send_timeout: limits::DEFAULT_SEND_TIMEOUT,
            max_message_size: limits::DEFAULT_MAX_MESSAGE_SIZE,
            max_frame_size: limits::DEFAULT_MAX_FRAME_SIZE,
            extra_roots: Ok(Vec::new()),
        }
    }
}

impl Settings {
    /// Reads the settings from the process environment and file system.
    pub fn from_env() -> Result<Settings, String> {
        Settings::parse(
            |name| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned()),
            |path| std::fs::read(path),
        )
    }

    /// Parses the settings given a variable lookup and a file reader.
    ///
    /// A bad numeric value is an error naming the variable. CA problems are kept
    /// in `extra_roots` so that they fail `wss://` connects only. Timeouts
    /// beyond a year count as a year ([`limits::clamp_timeout`]).
    pub fn parse(
        var: impl Fn(&str) -> Option<String>,
        read_file: impl Fn(&str) -> std::io::Result<Vec<u8>>,
    ) -> Result<Settings, String> {
        let mut settings = Settings::default();
        if let Some(ms) = positive(&var, CONNECT_TIMEOUT_MS, "milliseconds")? {
            settings.connect_timeout = limits::clamp_timeout(Duration::from_millis(ms));
        }
        if let Some(ms) = positive(&var, SEND_TIMEOUT_MS, "milliseconds")? {
            settings.send_timeout = limits::clamp_timeout(Duration::from_millis(ms));
        }
        if let Some(n) = positive(&var, MAX_MESSAGE_SIZE, "bytes")? {
            settings.max_message_size = size(MAX_MESSAGE_SIZE, n)?;
        }
        if let Some(n) = positive(&var, MAX_FRAME_SIZE, "bytes")? {
            settings.max_frame_size = size(MAX_FRAME_SIZE, n)?;
        }
        settings.extra_roots = extra_roots(&var, &read_file);
        Ok(settings)
    }
}

/// Reads a positive integer variable; `None` when unset.
fn positive(
    var: &impl Fn(&str) -> Option<String>,
    name: &str,
    unit: &str,
) -> Result<Option<u64>, String> {
    let Some(raw) = var(name) else {
        return Ok(None);
    };
    match raw.trim().parse::<u64>() {
        Ok(0) => Err(format!("{name}: must be greater than 0, got {raw:?}")),
        Ok(n) => Ok(Some(n)),
        Err(_) => Err(format!(
            "{name}: invalid value {raw:?} (expected a positive whole number of {unit})"
        )),
    }
}

fn size(name: &str, n: u64) -> Result<usize, String> {
    usize::try_from(n).map_err(|_| format!("{name}: {n} bytes is more than this platform can hold"))
}

fn extra_roots(
    var: &impl Fn(&str) -> Option<String>,
    read_file: &impl Fn(&str) -> std::io::Result<Vec<u8>>,
) -> Result<Vec<ExtraRoots>, String> {
    let mut roots = Vec::new();
    if let Some(pem) = var(CA_PEM) {
        if pem.trim().is_empty() {
            return Err(format!("{CA_PEM}: is set but empty"));
        }
        roots.push(ExtraRoots {
            source: CA_PEM.to_string(),
            pem,
        });
    }
    if let Some(path) = var(CA_FILE) {
        let path = path.trim();
        if path.is_empty() {
            return Err(format!("{CA_FILE}: is set but empty"));
        }
        let source = format!("{CA_FILE} ({path})");
        let bytes = read_file(path).map_err(|e| {
            format!("{source}: cannot read the file: {e} (is its directory preopened, e.g. wasmtime --dir HOST::GUEST?)")
        })?;
        let pem = String::from_utf8(bytes)
            .map_err(|_| format!("{source}: the file is not PEM text (not UTF-8)"))?;
        if pem.trim().is_empty() {
            return Err(format!("{source}: the file is empty"));
        }
        roots.push(ExtraRoots { source, pem });
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::io;

    fn parse(vars: &[(&str, &str)]) -> Result<Settings, String> {
        parse_with_files(vars, &[])
    }

    fn parse_with_files(vars: &[(&str, &str)], files: &[(&str, &str)]) -> Result<Settings, String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let files: HashMap<String, Vec<u8>> = files
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect();
        Settings::parse(
            |name| vars.get(name).cloned(),
            |path| {
                files.get(path).cloned().ok_or_else(|| {
                    io::Error::new(io::ErrorKind::NotFound, "No such file or directory")
                })
            },
        )
    }

    #[test]
    fn defaults_when_nothing_is_set() {
        let s = parse(&[]).unwrap();
        assert_eq!(s.connect_timeout, Duration::from_millis(30_000));
        assert_eq!(s.send_timeout, Duration::from_millis(30_000));
        assert_eq!(s.max_message_size, 67_108_864);
        assert_eq!(s.max_frame_size, 16_777_216);
        assert_eq!(s.extra_roots, Ok(vec![]));
    }

    #[test]
    fn numbers_are_read() {
        let s = parse(&[
            (CONNECT_TIMEOUT_MS, "1500"),
            (SEND_TIMEOUT_MS, " 250 "),
            (MAX_MESSAGE_SIZE, "1024"),
            (MAX_FRAME_SIZE, "512"),
        ])
        .unwrap();
        assert_eq!(s.connect_timeout, Duration::from_millis(1500));
        assert_eq!(s.send_timeout, Duration::from_millis(250));
        assert_eq!(s.max_message_size, 1024);
        assert_eq!(s.max_frame_size, 512);
    }

    #[test]
    fn huge_timeouts_count_as_a_year() {
        let max = u64::MAX.to_string();
        let s = parse(&[(CONNECT_TIMEOUT_MS, &max), (SEND_TIMEOUT_MS, &max)]).unwrap();
        assert_eq!(s.connect_timeout, limits::MAX_TIMEOUT);
        assert_eq!(s.send_timeout, limits::MAX_TIMEOUT);
        let now = std::time::Instant::now();
        assert!(now.checked_add(s.connect_timeout).is_some());
    }

    #[test]
    fn bad_numbers_name_the_variable() {
        let err = parse(&[(MAX_MESSAGE_SIZE, "64MiB")]).unwrap_err();
        assert!(
            err.starts_with("WASM_WEBSOCKET_MAX_MESSAGE_SIZE: invalid value \"64MiB\""),
            "{err}"
        );
        let err = parse(&[(CONNECT_TIMEOUT_MS, "0")]).unwrap_err();
        assert!(
            err.starts_with("WASM_WEBSOCKET_CONNECT_TIMEOUT_MS: must be greater than 0"),
            "{err}"
        );
        let err = parse(&[(MAX_FRAME_SIZE, "-1")]).unwrap_err();
        assert!(err.starts_with("WASM_WEBSOCKET_MAX_FRAME_SIZE:"), "{err}");
        let err = parse(&[(SEND_TIMEOUT_MS, "")]).unwrap_err();
        assert!(err.starts_with("WASM_WEBSOCKET_SEND_TIMEOUT_MS:"), "{err}");
    }

    #[test]
    fn ca_pem_is_kept_for_wss() {
        let s = parse(&[(CA_PEM, "-----BEGIN CERTIFICATE-----\n...")]).unwrap();
        let roots = s.extra_roots.unwrap();
        assert_eq!(roots.len(), 1);
        assert_eq!(roots[0].source, "WASM_WEBSOCKET_CA_PEM");
    }

    #[test]
    fn empty_ca_pem_is_an_error_not_a_fallback() {
        let s = parse(&[(CA_PEM, "  \n")]).unwrap();
        assert_eq!(
            s.extra_roots.unwrap_err(),
            "WASM_WEBSOCKET_CA_PEM: is set but empty"
        );
    }

    #[test]
    fn ca_file_is_read() {
        let s =
            parse_with_files(&[(CA_FILE, "/certs/ca.pem")], &[("/certs/ca.pem", "PEM")]).unwrap();
        let roots = s.extra_roots.unwrap();
        assert_eq!(roots[0].source, "WASM_WEBSOCKET_CA_FILE (/certs/ca.pem)");
        assert_eq!(roots[0].pem, "PEM");
    }

    #[test]
    fn both_ca_settings_add_up() {
        let s =
            parse_with_files(&[(CA_PEM, "A"), (CA_FILE, "/b.pem")], &[("/b.pem", "B")]).unwrap();
        let roots = s.extra_roots.unwrap();
        assert_eq!(
            roots.iter().map(|r| r.pem.as_str()).collect::<Vec<_>>(),
            ["A", "B"]
        );
    }

    #[test]
    fn unreadable_ca_file_is_an_error() {
        let s = parse(&[(CA_FILE, "/missing.pem")]).unwrap();
        let err = s.extra_roots.unwrap_err();
        assert!(
            err.starts_with("WASM_WEBSOCKET_CA_FILE (/missing.pem): cannot read the file"),
            "{err}"
        );
        let s = parse_with_files(&[(CA_FILE, "/e.pem")], &[("/e.pem", "")]).unwrap();
        assert_eq!(
            s.extra_roots.unwrap_err(),
            "WASM_WEBSOCKET_CA_FILE (/e.pem): the file is empty"
        );
    }
}
