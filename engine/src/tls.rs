//! `wss://`: rustls inside the guest. Certificates are always verified (chain,
//! validity time, host name or IP); trust anchors are the compiled-in Mozilla
//! roots plus the PEM roots from `WASM_WEBSOCKET_CA_PEM` / `WASM_WEBSOCKET_CA_FILE`.

use std::io::{self, Read, Write};
use std::rc::Rc;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{CertificateError, ClientConfig, ClientConnection, RootCertStore};

use crate::io::TcpIo;
use crate::settings::ExtraRoots;

/// The rustls client configuration for these extra roots.
pub fn client_config(extra: &[ExtraRoots]) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for source in extra {
        add_pem_roots(&mut roots, source)?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Adds every certificate of one PEM source; an unparsable source, one without a
/// certificate or with a certificate that cannot be a trust anchor is an error.
fn add_pem_roots(roots: &mut RootCertStore, source: &ExtraRoots) -> Result<(), String> {
    let mut count = 0;
    for cert in CertificateDer::pem_slice_iter(source.pem.as_bytes()) {
        let cert = cert.map_err(|e| format!("{}: invalid PEM: {e}", source.source))?;
        roots.add(cert).map_err(|e| {
            format!(
                "{}: certificate {} cannot be used as a trust anchor: {e}",
                source.source,
                count + 1
            )
        })?;
        count += 1;
    }
    if count == 0 {
        return Err(format!(
            "{}: no certificate found (expected one or more \
             -----BEGIN CERTIFICATE----- blocks)",
            source.source
        ));
    }
    Ok(())
}

/// The name the certificate must be valid for: the URL's host name or IP address.
pub fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    ServerName::try_from(host.to_string())
        .map_err(|_| format!("{host:?} is not a valid TLS server name"))
}

/// A readable `connection-failure` text for a failed TLS handshake.
pub fn describe(err: &rustls::Error, host: &str) -> String {
    let what = match err {
        rustls::Error::InvalidCertificate(cert) => match cert {
            CertificateError::UnknownIssuer => {
                "unknown issuer: the server's certificate is not signed by a trusted CA \
                 (extra CAs: WASM_WEBSOCKET_CA_PEM or WASM_WEBSOCKET_CA_FILE)"
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                "name mismatch: the server's certificate is not valid for this host"
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                "expired: the server's certificate has expired"
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "not yet valid: the server's certificate is not valid yet"
            }
            CertificateError::Revoked => "revoked: the server's certificate was revoked",
            CertificateError::BadSignature => "bad signature on the server's certificate",
            _ => "invalid server certificate",
        },
        rustls::Error::AlertReceived(_) => "handshake failure: the server sent an alert",
        rustls::Error::NoCertificatesPresented => "handshake failure: no server certificate",
        rustls::Error::PeerIncompatible(_) => {
            "handshake failure: no TLS version or cipher suite in common"
        }
        _ => "handshake failure",
    };
    format!("TLS with {host} failed: {what} ({err})")
}

/// Why a handshake failed when the server ended the TCP connection.
const CLOSED_IN_HANDSHAKE: &str = "the server closed the connection during the handshake";

/// The `connection-failure` text for a TLS handshake that failed on `err`.
fn handshake_failure(err: &io::Error, host: &str) -> String {
    if let Some(tls) = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    {
        return describe(tls, host);
    }
    match err.kind() {
        io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset => {
            format!("TLS with {host} failed: {CLOSED_IN_HANDSHAKE} ({err})")
        }
        _ => format!("TLS with {host} failed: {err}"),
    }
}

/// TLS over the TCP streams, with the same `WouldBlock` contract as [`TcpIo`].
pub struct TlsStream {
    conn: ClientConnection,
    tcp: Rc<TcpIo>,
}

impl TlsStream {
    pub fn new(config: Arc<ClientConfig>, host: &str, tcp: Rc<TcpIo>) -> Result<TlsStream, String> {
        let conn = ClientConnection::new(config, server_name(host)?)
            .map_err(|e| format!("TLS setup failed: {e}"))?;
        Ok(TlsStream { conn, tcp })
    }

    /// Drives the TLS handshake as far as it goes without waiting: `Ok(true)`
    /// once it is done, `Ok(false)` when it waits for the socket (the
    /// directions to wait on are in [`TcpIo::take_wants`]).
    pub fn handshake_step(&mut self, host: &str) -> Result<bool, String> {
        while self.conn.is_handshaking() {
            match self.pump() {
                Ok(true) => {}
                Ok(false) => return Err(format!("TLS with {host} failed: {CLOSED_IN_HANDSHAKE}")),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(handshake_failure(&e, host)),
            }
        }
        // Push out the last handshake flight (e.g. the client Finished).
        let _ = self.write_tls_all();
        Ok(true)
    }

    /// One round of handshake I/O: send what is pending, read and process what
    /// arrived. `Ok(false)` at the end of input.
    fn pump(&mut self) -> io::Result<bool> {
        self.write_tls_all()?;
        let flushed = match (&*self.tcp).flush() {
            Err(e) if e.kind() != io::ErrorKind::WouldBlock => return Err(e),
            other => other,
        };
        if !self.conn.wants_read() {
            return flushed.map(|()| true);
        }
        match self.conn.read_tls(&mut &*self.tcp)? {
            0 => Ok(false),
            _ => {
                self.process()?;
                Ok(true)
            }
        }
    }

    /// Processes received records; on a TLS error, tries to send the alert.
    fn process(&mut self) -> io::Result<()> {
        if let Err(e) = self.conn.process_new_packets() {
            let _ = self.write_tls_all();
            return Err(io::Error::new(io::ErrorKind::InvalidData, e));
        }
        Ok(())
    }

    /// Writes pending TLS records into the TCP adapter; `WouldBlock` when it
    /// takes no more.
    fn write_tls_all(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            self.conn.write_tls(&mut &*self.tcp)?;
        }
        Ok(())
    }

    /// Queues and tries to send a close_notify alert (best effort, no waiting).
    pub fn send_close_notify(&mut self) {
        self.conn.send_close_notify();
        let _ = self.write_tls_all();
        let _ = (&*self.tcp).flush();
    }
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.conn.reader().read(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                other => return other,
            }
            // No plaintext buffered: send what rustls wants to send (e.g. key
            // update replies), then read more records.
            // A full socket does not stop reading: what rustls keeps is
            // bounded by its buffer limit, and is sent by a later call.
            if self.conn.wants_write() {
                match self.write_tls_all().and_then(|()| (&*self.tcp).flush()) {
                    Err(e) if e.kind() != io::ErrorKind::WouldBlock => return Err(e),
                    _ => {}
                }
            }
            self.conn.read_tls(&mut &*self.tcp)?;
            // Also after the end of input: the reader then reports the end.
            self.process()?;
        }
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        // rustls takes what fits its buffer (64 KiB by default, its limit on
        // records not yet handed on); the records go to the TCP adapter,
        // which may refuse them (`WouldBlock`) while earlier bytes wait.
        let n = self.conn.writer().write(buf)?;
        let pushed = self.write_tls_all();
        if n > 0 {
            // Taken by rustls: sent by a later write or flush if not now.
            return match pushed {
                Err(e) if e.kind() != io::ErrorKind::WouldBlock => Err(e),
                _ => Ok(n),
            };
        }
        pushed?;
        // rustls' buffer was full and is now drained into the TCP adapter.
        match self.conn.writer().write(buf)? {
            0 => Err(io::ErrorKind::WouldBlock.into()),
            n => Ok(n),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.conn.writer().flush()?;
        self.write_tls_all()?;
        (&*self.tcp).flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A freshly generated self-signed CA certificate, as PEM.
    fn ca_cert() -> String {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().pem()
    }

    fn roots(pem: &str) -> Vec<ExtraRoots> {
        vec![ExtraRoots {
            source: "WASM_WEBSOCKET_CA_PEM".into(),
            pem: pem.into(),
        }]
    }

    #[test]
    fn compiled_in_roots_alone_work() {
        assert!(client_config(&[]).is_ok());
    }

    #[test]
    fn alpn_is_http_1_1() {
        let config = client_config(&[]).unwrap();
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }

    #[test]
    fn pem_roots_are_added() {
        let ca = ca_cert();
        assert!(client_config(&roots(&ca)).is_ok());
        let two = format!("{ca}\n{}", ca_cert());
        assert!(client_config(&roots(&two)).is_ok());
    }

    #[test]
    fn garbage_is_refused_with_the_variable_name() {
        let err = client_config(&roots("not a certificate")).unwrap_err();
        assert!(
            err.starts_with("WASM_WEBSOCKET_CA_PEM: no certificate found"),
            "{err}"
        );
        let broken = ca_cert().replace("-----END CERTIFICATE-----", "");
        let err = client_config(&roots(&broken)).unwrap_err();
        assert!(
            err.starts_with("WASM_WEBSOCKET_CA_PEM: invalid PEM"),
            "{err}"
        );
        let bad_base64 = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        let err = client_config(&roots(bad_base64)).unwrap_err();
        assert!(
            err.starts_with("WASM_WEBSOCKET_CA_PEM: invalid PEM"),
            "{err}"
        );
        let not_a_cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let err = client_config(&roots(not_a_cert)).unwrap_err();
        assert!(err.contains("cannot be used as a trust anchor"), "{err}");
    }

    #[test]
    fn server_names() {
        assert!(matches!(
            server_name("example.com"),
            Ok(ServerName::DnsName(_))
        ));
        assert!(matches!(
            server_name("127.0.0.1"),
            Ok(ServerName::IpAddress(_))
        ));
        assert!(matches!(server_name("::1"), Ok(ServerName::IpAddress(_))));
        assert!(server_name("bad name!").is_err());
    }

    #[test]
    fn handshake_failures_are_named() {
        let tls = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        let err = io::Error::new(io::ErrorKind::InvalidData, tls);
        assert!(handshake_failure(&err, "h").starts_with("TLS with h failed: unknown issuer"));
        let reset = io::Error::new(io::ErrorKind::ConnectionReset, "reset");
        assert_eq!(
            handshake_failure(&reset, "h"),
            "TLS with h failed: the server closed the connection during the handshake (reset)"
        );
    }

    #[test]
    fn failures_are_named() {
        let unknown = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        let text = describe(&unknown, "localhost");
        assert!(
            text.starts_with("TLS with localhost failed: unknown issuer"),
            "{text}"
        );
        assert!(text.contains("WASM_WEBSOCKET_CA_PEM"), "{text}");
        let name = rustls::Error::InvalidCertificate(CertificateError::NotValidForName);
        assert!(describe(&name, "h").contains("name mismatch"));
        let expired = rustls::Error::InvalidCertificate(CertificateError::Expired);
        assert!(describe(&expired, "h").contains("expired"));
        let alert = rustls::Error::AlertReceived(rustls::AlertDescription::HandshakeFailure);
        let text = describe(&alert, "h");
        assert!(text.contains("handshake failure"), "{text}");
        assert!(text.contains("HandshakeFailure"), "{text}");
    }
}
