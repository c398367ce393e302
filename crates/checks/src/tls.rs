//! rustls client setup: webpki roots (plus any extra PEM roots), optional
//! "accept anything", and the leaf certificate kept for its expiry date.

use std::sync::{Arc, Mutex, OnceLock};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

fn provider() -> Arc<CryptoProvider> {
    static P: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    P.get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

fn webpki_roots() -> RootCertStore {
    RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

/// The trust anchors for one check: the webpki roots, plus `extra_pem`.
pub(crate) fn roots(extra_pem: Option<&str>) -> Result<Arc<RootCertStore>, String> {
    static DEFAULT: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    let Some(pem) = extra_pem else {
        return Ok(DEFAULT.get_or_init(|| Arc::new(webpki_roots())).clone());
    };
    let mut store = webpki_roots();
    let mut added = 0;
    for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        let cert = cert.map_err(|e| format!("extra root certificates: {e}"))?;
        store
            .add(cert)
            .map_err(|e| format!("extra root certificate rejected: {e}"))?;
        added += 1;
    }
    if added == 0 {
        return Err("extra root certificates: no CERTIFICATE in the PEM".into());
    }
    Ok(Arc::new(store))
}

/// Verifies as webpki would (or not at all when insecure) and keeps the
/// leaf certificate either way, so its expiry can be reported even when
/// verification fails.
#[derive(Debug)]
pub(crate) struct Verifier {
    webpki: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
    leaf: Mutex<Option<Vec<u8>>>,
}

impl Verifier {
    pub(crate) fn leaf(&self) -> Option<Vec<u8>> {
        self.leaf.lock().map(|l| l.clone()).unwrap_or(None)
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut l) = self.leaf.lock() {
            *l = Some(end_entity.to_vec());
        }
        match &self.webpki {
            Some(v) => {
                v.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            None => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A client config for one connection, and its verifier (to read the leaf).
pub(crate) fn client_config(
    roots: &Arc<RootCertStore>,
    insecure: bool,
) -> Result<(Arc<ClientConfig>, Arc<Verifier>), String> {
    let provider = provider();
    let webpki = if insecure {
        None
    } else {
        Some(
            WebPkiServerVerifier::builder_with_provider(roots.clone(), provider.clone())
                .build()
                .map_err(|e| format!("TLS setup: {e}"))?,
        )
    };
    let verifier = Arc::new(Verifier {
        webpki,
        provider: provider.clone(),
        leaf: Mutex::new(None),
    });
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone())
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((Arc::new(config), verifier))
}
