//! TLS contexts (rustls, the *ring* provider): the server side the TLS listener's handshakes use,
//! and the client side for the links this daemon opens (peers, the coherence bus). Both are built
//! together from the `tls-*` directives (`config.rs`) and swapped atomically: a handshake takes the
//! context current when it starts, so `CONFIG SET tls-cert-file` reaches new connections while
//! those already up keep theirs; a context that does not build leaves the running ones in place
//! (Redis's `tlsConfigure`). What is refused says why: the reason goes to the log, as Redis's
//! "Check server logs", and into CONFIG SET's error.

pub mod config;
mod session;

use std::path::Path;
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use rustls::crypto::CryptoProvider;
use rustls::server::{NoServerSessionStorage, ServerSessionMemoryCache, WebPkiClientVerifier};
use rustls::{
    ClientConfig, RootCertStore, ServerConfig, SupportedCipherSuite, SupportedProtocolVersion,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::state::config::ConfigValues;
use config::{AuthClients, TlsValues};

/// CONFIG SET's reason when the contexts do not build, as Redis words it; the log says why.
pub const UPDATE_FAILED: &str = "Unable to update TLS configuration. Check server logs.";

/// Redis's reason when a CA is needed and none is given.
const NO_CA: &str = "Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, tls-replication or tls-auth-clients are enabled!";

/// `tls-session-cache-size 0` is OpenSSL's "no limit"; rustls's cache needs a bound.
const UNLIMITED_SESSIONS: usize = 1 << 20;

/// The contexts in force; `None` until TLS is configured.
#[derive(Default)]
pub struct Tls {
    server: ArcSwapOption<ServerConfig>,
    client: ArcSwapOption<ClientConfig>,
}

impl Tls {
    /// The context a new TLS client's handshake uses.
    pub fn server_config(&self) -> Option<Arc<ServerConfig>> {
        self.server.load_full()
    }

    /// The context a new outgoing TLS link uses.
    pub fn client_config(&self) -> Option<Arc<ClientConfig>> {
        self.client.load_full()
    }

    /// Builds both contexts from `values` and installs them; on an error nothing changes. Nothing
    /// is built while no listener or link uses TLS (as Redis, which only then reads the files).
    pub fn configure(&self, values: &ConfigValues) -> Result<(), String> {
        if !config::wanted(values) {
            return Ok(());
        }
        let built = build(values).inspect_err(|reason| tracing::warn!("TLS: {reason}"))?;
        self.server.store(built.0.map(Arc::new));
        self.client.store(Some(Arc::new(built.1)));
        Ok(())
    }
}

fn build(values: &ConfigValues) -> Result<(Option<ServerConfig>, ClientConfig), String> {
    let tls = &values.tls;
    let links = values.peer_tls || values.coherence_bus_tls;
    let no_ca = tls.ca_cert_file.is_empty() && tls.ca_cert_dir.is_empty();
    if tls.cluster && no_ca {
        return Err(NO_CA.into());
    }
    if links && no_ca {
        return Err("Either tls-ca-cert-file or tls-ca-cert-dir must be specified when peer-tls is on or the coherence bus is rediss://".into());
    }
    let versions = protocols(&tls.protocols)?;
    let provider = Arc::new(provider(tls)?);
    let server = if values.tls_port != 0 {
        Some(server_config(tls, &versions, &provider)?)
    } else {
        None
    };
    Ok((server, client_config(tls, &versions, &provider)?))
}

fn server_config(
    tls: &TlsValues,
    versions: &[&'static SupportedProtocolVersion],
    provider: &Arc<CryptoProvider>,
) -> Result<ServerConfig, String> {
    if tls.cert_file.is_empty() {
        return Err("No tls-cert-file configured!".into());
    }
    if tls.key_file.is_empty() {
        return Err("No tls-key-file configured!".into());
    }
    if tls.auth_clients != AuthClients::No
        && tls.ca_cert_file.is_empty()
        && tls.ca_cert_dir.is_empty()
    {
        return Err(NO_CA.into());
    }
    let certs = load_certs(&tls.cert_file)?;
    let key = load_key(&tls.key_file, &tls.key_file_pass)?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| format!("Failed to configure protocols: {e}"))?;
    let builder = match tls.auth_clients {
        AuthClients::No => builder.with_no_client_auth(),
        auth => {
            let roots = Arc::new(trusted_roots(tls)?);
            let mut verifier = WebPkiClientVerifier::builder_with_provider(roots, provider.clone());
            if auth == AuthClients::Optional {
                verifier = verifier.allow_unauthenticated();
            }
            let verifier = verifier.build().map_err(|e| {
                format!("Failed to configure CA certificate(s) file/directory: {e}")
            })?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_single_cert(certs, key).map_err(|e| {
        format!(
            "Failed to load private key: {}: {e} (does it match {}?)",
            tls.key_file, tls.cert_file
        )
    })?;
    config.ignore_client_order = tls.prefer_server_ciphers;
    if tls.session_caching {
        let size = match tls.session_cache_size {
            0 => UNLIMITED_SESSIONS,
            n => n,
        };
        let timeout = tls.session_cache_timeout;
        config.session_storage = Arc::new(session::TimedSessions {
            inner: ServerSessionMemoryCache::new(size),
            timeout,
        });
        // OpenSSL, which Redis uses, issues tickets by default (TLSv1.2 and TLSv1.3).
        let tickets = rustls::crypto::ring::Ticketer::new()
            .map_err(|e| format!("Failed to set up session tickets: {e}"))?;
        config.ticketer = Arc::new(session::TimedTickets {
            inner: tickets,
            timeout,
        });
    } else {
        config.session_storage = Arc::new(NoServerSessionStorage {});
    }
    Ok(config)
}

/// The context of outgoing links: the CAs trusted for the servers reached, and the certificate
/// presented (`tls-client-cert-file`, else `tls-cert-file` as Redis does, else none).
fn client_config(
    tls: &TlsValues,
    versions: &[&'static SupportedProtocolVersion],
    provider: &Arc<CryptoProvider>,
) -> Result<ClientConfig, String> {
    let roots = if tls.ca_cert_file.is_empty() && tls.ca_cert_dir.is_empty() {
        RootCertStore::empty()
    } else {
        trusted_roots(tls)?
    };
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| format!("Failed to configure protocols: {e}"))?
        .with_root_certificates(roots);
    let (cert, key, pass) = if tls.client_cert_file.is_empty() || tls.client_key_file.is_empty() {
        (&tls.cert_file, &tls.key_file, &tls.key_file_pass)
    } else {
        (
            &tls.client_cert_file,
            &tls.client_key_file,
            &tls.client_key_file_pass,
        )
    };
    if cert.is_empty() || key.is_empty() {
        return Ok(builder.with_no_client_auth());
    }
    builder
        .with_client_auth_cert(load_certs(cert)?, load_key(key, pass)?)
        .map_err(|e| format!("Failed to load private key: {key}: {e} (does it match {cert}?)"))
}

/// `tls-protocols`: Redis's names, any order, any case; empty is TLSv1.2 and TLSv1.3.
fn protocols(text: &str) -> Result<Vec<&'static SupportedProtocolVersion>, String> {
    let mut versions = Vec::new();
    for word in text.split_whitespace() {
        let version = match word.to_ascii_lowercase().as_str() {
            "tlsv1.2" => &rustls::version::TLS12,
            "tlsv1.3" => &rustls::version::TLS13,
            "tlsv1" | "tlsv1.1" => {
                return Err(format!(
                    "{word} is not supported: rustls implements TLSv1.2 and TLSv1.3 only"
                ))
            }
            _ => {
                return Err("Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'.".into())
            }
        };
        if !versions.contains(&version) {
            versions.push(version);
        }
    }
    if versions.is_empty() {
        versions = vec![&rustls::version::TLS12, &rustls::version::TLS13];
    }
    Ok(versions)
}

/// OpenSSL's names of the TLSv1.2 suites rustls has.
const TLS12_NAMES: &[(&str, SupportedCipherSuite)] = {
    use rustls::crypto::ring::cipher_suite::*;
    &[
        (
            "ECDHE-ECDSA-AES256-GCM-SHA384",
            TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        ),
        (
            "ECDHE-ECDSA-AES128-GCM-SHA256",
            TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        ),
        (
            "ECDHE-ECDSA-CHACHA20-POLY1305",
            TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        ),
        (
            "ECDHE-RSA-AES256-GCM-SHA384",
            TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        ),
        (
            "ECDHE-RSA-AES128-GCM-SHA256",
            TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        ),
        (
            "ECDHE-RSA-CHACHA20-POLY1305",
            TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        ),
    ]
};

/// The TLSv1.3 suites (their names are the same in OpenSSL and the RFC).
const TLS13_NAMES: &[(&str, SupportedCipherSuite)] = {
    use rustls::crypto::ring::cipher_suite::*;
    &[
        ("TLS_AES_256_GCM_SHA384", TLS13_AES_256_GCM_SHA384),
        ("TLS_AES_128_GCM_SHA256", TLS13_AES_128_GCM_SHA256),
        (
            "TLS_CHACHA20_POLY1305_SHA256",
            TLS13_CHACHA20_POLY1305_SHA256,
        ),
    ]
};

/// OpenSSL's keywords for every suite (rustls has no weak ones to leave out).
const EVERY_SUITE: &[&str] = &["DEFAULT", "ALL", "HIGH", "COMPLEMENTOFDEFAULT"];

/// Exclusions of what rustls never offers (`!MEDIUM`, `!aNULL`...): nothing to remove.
const NEVER_OFFERED: &[&str] = &[
    "LOW", "MEDIUM", "EXPORT", "ANULL", "ENULL", "NULL", "RC4", "DES", "3DES", "MD5", "PSK", "SRP",
    "DSS", "SEED", "IDEA", "CAMELLIA", "ARIA", "SHA1", "ADH", "AECDH", "KRB5", "CBC",
];

/// One of the two suite lists in order of preference: names, `DEFAULT`/`ALL`/`HIGH`, `!NAME` or
/// `-NAME` to leave one out; OpenSSL's separators (`:`, `,`, spaces).
fn suites(
    text: &str,
    names: &[(&str, SupportedCipherSuite)],
    directive: &str,
) -> Result<Vec<SupportedCipherSuite>, String> {
    if text.trim().is_empty() {
        return Ok(names.iter().map(|(_, suite)| *suite).collect());
    }
    let mut chosen: Vec<SupportedCipherSuite> = Vec::new();
    let mut removed: Vec<SupportedCipherSuite> = Vec::new();
    for word in text.split([':', ',', ' ']).filter(|w| !w.is_empty()) {
        let (negated, name) = match word.strip_prefix(['!', '-']) {
            Some(name) => (true, name),
            None => (false, word.strip_prefix('+').unwrap_or(word)),
        };
        let upper = name.to_ascii_uppercase();
        let found: Vec<SupportedCipherSuite> = if EVERY_SUITE.contains(&upper.as_str()) {
            names.iter().map(|(_, suite)| *suite).collect()
        } else if let Some((_, suite)) = names.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            vec![*suite]
        } else if negated && NEVER_OFFERED.contains(&upper.as_str()) {
            Vec::new()
        } else {
            let known: Vec<&str> = names.iter().map(|(n, _)| *n).collect();
            return Err(format!(
                "Failed to configure {directive}: {word} is not a suite cachet (rustls) has; it knows {}",
                known.join(", ")
            ));
        };
        for suite in found {
            if negated {
                removed.push(suite);
            } else if !chosen.contains(&suite) {
                chosen.push(suite);
            }
        }
    }
    chosen.retain(|suite| !removed.contains(suite));
    Ok(chosen)
}

/// The *ring* provider with the suites `tls-ciphersuites` (TLSv1.3) and `tls-ciphers` (TLSv1.2)
/// allow, in their order. rustls deprecates *ring*'s provider for lacking post-quantum key
/// exchange (aws-lc-rs has it); *ring* builds with nothing but a C compiler, and Redis 7.0's
/// OpenSSL offers no post-quantum exchange either.
#[allow(deprecated)]
fn provider(tls: &TlsValues) -> Result<CryptoProvider, String> {
    let mut cipher_suites = suites(&tls.ciphersuites, TLS13_NAMES, "ciphersuites")?;
    cipher_suites.extend(suites(&tls.ciphers, TLS12_NAMES, "ciphers")?);
    if cipher_suites.is_empty() {
        return Err("Failed to configure ciphers: no cipher suite left".into());
    }
    Ok(CryptoProvider {
        cipher_suites,
        ..rustls::crypto::ring::default_provider()
    })
}

fn read(path: &str, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("Failed to load {what}: {path}: {e}"))
}

/// A PEM certificate chain, leaf first.
pub fn load_certs(path: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = read(path, "certificate")?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("Failed to load certificate: {path}: {e}"))?;
    if certs.is_empty() {
        return Err(format!(
            "Failed to load certificate: {path}: no PEM certificate in it"
        ));
    }
    Ok(certs)
}

/// A PEM private key: PKCS#8 (encrypted with `pass`, or not), PKCS#1 or SEC1.
pub fn load_key(path: &str, pass: &str) -> Result<PrivateKeyDer<'static>, String> {
    let pem = read(path, "private key")?;
    let failed = |why: String| format!("Failed to load private key: {path}: {why}");
    let text = String::from_utf8_lossy(&pem);
    if text.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(failed(
            "a legacy encrypted PEM key; convert it with `openssl pkcs8 -topk8` (encrypted PKCS#8 with tls-key-file-pass works)".into(),
        ));
    }
    if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        if pass.is_empty() {
            return Err(failed(
                "the key is encrypted and tls-key-file-pass is empty".into(),
            ));
        }
        return decrypt_pkcs8(&text, pass).map_err(failed);
    }
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| failed(e.to_string()))
}

fn decrypt_pkcs8(text: &str, pass: &str) -> Result<PrivateKeyDer<'static>, String> {
    use pkcs8::der::Decode;
    let start = text
        .find("-----BEGIN ENCRYPTED PRIVATE KEY-----")
        .unwrap_or_default();
    let (label, document) =
        pkcs8::Document::from_pem(&text[start..]).map_err(|e| format!("bad PEM: {e}"))?;
    if label != "ENCRYPTED PRIVATE KEY" {
        return Err(format!("unexpected PEM label {label}"));
    }
    let encrypted = pkcs8::EncryptedPrivateKeyInfo::from_der(document.as_bytes())
        .map_err(|e| format!("bad encrypted PKCS#8: {e}"))?;
    let secret = encrypted
        .decrypt(pass)
        .map_err(|e| format!("cannot decrypt with tls-key-file-pass: {e}"))?;
    Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        secret.as_bytes().to_vec(),
    )))
}

/// The CAs of `tls-ca-cert-file` and of every file in `tls-ca-cert-dir`.
fn trusted_roots(tls: &TlsValues) -> Result<RootCertStore, String> {
    let failed =
        |why: String| format!("Failed to configure CA certificate(s) file/directory: {why}");
    let mut roots = RootCertStore::empty();
    let mut add = |certs: Vec<CertificateDer<'static>>, path: &Path| {
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| failed(format!("{}: {e}", path.display())))?;
        }
        Ok::<_, String>(())
    };
    if !tls.ca_cert_file.is_empty() {
        add(
            load_certs(&tls.ca_cert_file).map_err(failed)?,
            Path::new(&tls.ca_cert_file),
        )?;
    }
    if !tls.ca_cert_dir.is_empty() {
        let entries = std::fs::read_dir(&tls.ca_cert_dir)
            .map_err(|e| failed(format!("{}: {e}", tls.ca_cert_dir)))?;
        for entry in entries.flatten() {
            let path = entry.path();
            // Files of other kinds (an index, keys) sit beside certificates in such directories.
            let Ok(pem) = std::fs::read(&path) else {
                continue;
            };
            let certs: Vec<_> = CertificateDer::pem_slice_iter(&pem)
                .filter_map(Result::ok)
                .collect();
            add(certs, &path)?;
        }
    }
    if roots.is_empty() {
        return Err(failed("no CA certificate found".into()));
    }
    Ok(roots)
}

/// The subject's Common Name of a DER certificate (the first, as OpenSSL's
/// `X509_NAME_get_index_by_NID` finds it), when it is text.
pub fn common_name(der: &[u8]) -> Option<String> {
    use x509_cert::der::{Decode, Tag, Tagged};
    const CN: x509_cert::der::oid::ObjectIdentifier =
        x509_cert::der::oid::ObjectIdentifier::new_unwrap("2.5.4.3");
    let cert = x509_cert::Certificate::from_der(der).ok()?;
    let value = cert
        .tbs_certificate
        .subject
        .0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .find(|attribute| attribute.oid == CN)?
        .value
        .clone();
    match value.tag() {
        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String => {
            String::from_utf8(value.value().to_vec()).ok()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocols_as_redis_names_them() {
        assert_eq!(protocols("").unwrap().len(), 2);
        assert_eq!(protocols("TLSv1.3").unwrap(), vec![&rustls::version::TLS13]);
        assert_eq!(protocols("tlsv1.2 TLSv1.2").unwrap().len(), 1);
        assert!(protocols("TLSv1.1").unwrap_err().contains("not supported"));
        assert!(protocols("SSLv3")
            .unwrap_err()
            .starts_with("Invalid tls-protocols"));
    }

    #[test]
    fn suites_by_openssl_names() {
        let all = suites("", TLS12_NAMES, "ciphers").unwrap();
        assert_eq!(all.len(), 6);
        assert_eq!(
            suites("DEFAULT:!MEDIUM:!aNULL", TLS12_NAMES, "ciphers").unwrap(),
            all
        );
        let two = suites(
            "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384",
            TLS12_NAMES,
            "ciphers",
        )
        .unwrap();
        assert_eq!(two, vec![TLS12_NAMES[4].1, TLS12_NAMES[0].1]);
        assert_eq!(
            suites("HIGH:!ECDHE-RSA-AES128-GCM-SHA256", TLS12_NAMES, "ciphers")
                .unwrap()
                .len(),
            5
        );
        let err = suites("AES128-SHA", TLS12_NAMES, "ciphers").unwrap_err();
        assert!(err.contains("AES128-SHA is not a suite"), "{err}");
        assert_eq!(
            suites("TLS_CHACHA20_POLY1305_SHA256", TLS13_NAMES, "ciphersuites").unwrap(),
            vec![TLS13_NAMES[2].1]
        );
    }

    #[test]
    fn nothing_is_built_without_a_tls_listener_or_link() {
        let tls = Tls::default();
        let values = ConfigValues::default();
        tls.configure(&values).unwrap();
        assert!(tls.server_config().is_none());
        let values = ConfigValues {
            tls_port: 6380,
            ..ConfigValues::default()
        };
        assert_eq!(
            tls.configure(&values).unwrap_err(),
            "No tls-cert-file configured!"
        );
        assert!(tls.server_config().is_none());
    }
}
