//! TLS settings (rustls): trust roots, custom CA, fingerprint pinning, client certificates.

use std::fmt;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};

use crate::error::Error;

/// Which trust roots verify server certificates when no CA certificate is configured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum RootStore {
    /// The Mozilla roots compiled into the binary (`webpki-roots`). The default.
    #[default]
    Webpki,
    /// The operating system's trust store (`rustls-native-certs`).
    Native,
}

/// TLS settings. Certificate verification is on unless
/// [`crate::TransportBuilder::danger_accept_invalid_certs`] is called.
#[derive(Clone, Default)]
pub(crate) struct TlsSettings {
    pub(crate) roots: RootStore,
    pub(crate) ca_pems: Vec<Vec<u8>>,
    pub(crate) fingerprint: Option<[u8; 32]>,
    pub(crate) client_cert: Option<(Vec<u8>, Vec<u8>)>,
    pub(crate) accept_invalid_certs: bool,
}

impl fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsSettings")
            .field("roots", &self.roots)
            .field("ca_certificates", &self.ca_pems.len())
            .field("fingerprint", &self.fingerprint.map(|f| hex_colon(&f)))
            .field("client_certificate", &self.client_cert.is_some())
            .field("accept_invalid_certs", &self.accept_invalid_certs)
            .finish()
    }
}

/// Parses a SHA-256 fingerprint as Elasticsearch prints it (hex, with or without colons).
pub(crate) fn parse_fingerprint(text: &str) -> Result<[u8; 32], Error> {
    let hex: String = text
        .chars()
        .filter(|c| !matches!(c, ':' | ' '))
        .collect::<String>()
        .to_ascii_lowercase();
    let bad =
        || Error::config("the CA fingerprint must be 32 bytes of SHA-256 in hex (colons optional)");
    if hex.len() != 64 || !hex.is_ascii() {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(out)
}

fn hex_colon(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn pem_certs(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs = rustls_pemfile::certs(&mut &pem[..])
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::config_with("cannot read PEM certificates", e))?;
    if certs.is_empty() {
        return Err(Error::config("no certificate found in the PEM data"));
    }
    Ok(certs)
}

impl TlsSettings {
    pub(crate) fn build(&self) -> Result<rustls::ClientConfig, Error> {
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::config_with("TLS protocol versions", e))?;
        let builder = if self.accept_invalid_certs {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Verifier::AcceptAll(provider())))
        } else if let Some(pin) = self.fingerprint {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Verifier::Pinned(pin, provider())))
        } else {
            let mut roots = rustls::RootCertStore::empty();
            if !self.ca_pems.is_empty() {
                for pem in &self.ca_pems {
                    for cert in pem_certs(pem)? {
                        roots
                            .add(cert)
                            .map_err(|e| Error::config_with("invalid CA certificate", e))?;
                    }
                }
            } else {
                match self.roots {
                    RootStore::Webpki => {
                        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
                    }
                    RootStore::Native => {
                        let found = rustls_native_certs::load_native_certs();
                        for cert in found.certs {
                            // Unusable system certificates are skipped, as browsers do.
                            let _ = roots.add(cert);
                        }
                        if roots.is_empty() {
                            return Err(Error::config(
                                "no usable certificate in the system trust store",
                            ));
                        }
                    }
                }
            }
            builder.with_root_certificates(roots)
        };
        match &self.client_cert {
            None => Ok(builder.with_no_client_auth()),
            Some((cert_pem, key_pem)) => {
                let certs = pem_certs(cert_pem)?;
                let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut &key_pem[..])
                    .map_err(|e| Error::config_with("cannot read the client key", e))?
                    .ok_or_else(|| Error::config("no private key found in the client key PEM"))?;
                builder
                    .with_client_auth_cert(certs, key)
                    .map_err(|e| Error::config_with("invalid client certificate or key", e))
            }
        }
    }
}

#[derive(Debug)]
enum Verifier {
    /// Accepts a chain in which any certificate has the pinned SHA-256 fingerprint.
    Pinned([u8; 32], Arc<CryptoProvider>),
    /// Accepts everything (explicit opt-in only).
    AcceptAll(Arc<CryptoProvider>),
}

impl Verifier {
    fn provider(&self) -> &CryptoProvider {
        match self {
            Verifier::Pinned(_, p) | Verifier::AcceptAll(p) => p,
        }
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self {
            Verifier::AcceptAll(_) => Ok(ServerCertVerified::assertion()),
            Verifier::Pinned(pin, _) => {
                let matches = std::iter::once(end_entity)
                    .chain(intermediates.iter())
                    .any(|cert| Sha256::digest(cert.as_ref()).as_slice() == pin);
                if matches {
                    Ok(ServerCertVerified::assertion())
                } else {
                    Err(rustls::Error::General(format!(
                        "no certificate presented by the server has the pinned SHA-256 fingerprint {}",
                        hex_colon(pin)
                    )))
                }
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider().signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider().signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_forms() {
        let colon = "AB:".repeat(31) + "CD";
        let a = parse_fingerprint(&colon).unwrap();
        let b = parse_fingerprint(&colon.replace(':', "").to_lowercase()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a[31], 0xCD);
        assert!(parse_fingerprint("abc").is_err());
        assert!(parse_fingerprint(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn default_config_builds() {
        TlsSettings::default().build().unwrap();
        assert!(TlsSettings {
            ca_pems: vec![b"not pem".to_vec()],
            ..Default::default()
        }
        .build()
        .is_err());
    }
}
