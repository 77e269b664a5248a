//! What the TLS tests share: certificates made in-process (rcgen) and written to a scratch
//! directory, and a blocking TLS client (rustls over a `TcpStream`).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};

/// A certificate authority that signs the test certificates.
pub struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
    /// Its certificate, PEM, on disk.
    pub pem: PathBuf,
}

/// A certificate and its key on disk.
#[derive(Clone)]
pub struct Pair {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Ca {
    pub fn new(dir: &Path, name: &str) -> Ca {
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).expect("CA certificate");
        let pem = dir.join(format!("{name}.pem"));
        std::fs::write(&pem, cert.pem()).expect("write CA");
        Ca { cert, key, pem }
    }

    /// A certificate for `localhost` and 127.0.0.1 (server and client use) with Common Name `cn`.
    pub fn issue(&self, dir: &Path, cn: &str) -> Pair {
        self.issue_with(dir, cn, |_| {})
    }

    /// `issue`, with its parameters adjusted (validity dates...).
    pub fn issue_with(
        &self,
        dir: &Path,
        cn: &str,
        adjust: impl FnOnce(&mut CertificateParams),
    ) -> Pair {
        let key = KeyPair::generate().expect("key");
        let mut params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
                .expect("params");
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        adjust(&mut params);
        let cert = params.signed_by(&key, &self.cert, &self.key).expect("sign");
        let stem = format!("{cn}-{}", fastrand::u32(..));
        let pair = Pair {
            cert: dir.join(format!("{stem}.crt")),
            key: dir.join(format!("{stem}.key")),
        };
        std::fs::write(&pair.cert, cert.pem()).expect("write cert");
        std::fs::write(&pair.key, key.serialize_pem()).expect("write key");
        pair
    }
}

pub fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// A blocking TLS connection.
pub type TlsStream = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// The client context: trusts `ca`, presents `cert` when given, speaks `versions`.
#[allow(deprecated)] // ring's provider, as the server's (src/state/tls).
pub fn client_config(
    ca: &Path,
    cert: Option<&Pair>,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<rustls::ClientConfig> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let mut roots = rustls::RootCertStore::empty();
    for der in CertificateDer::pem_file_iter(ca).expect("CA file") {
        roots.add(der.expect("CA PEM")).expect("add CA");
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(versions)
    .expect("versions")
    .with_root_certificates(roots);
    let config = match cert {
        Some(pair) => {
            let chain = CertificateDer::pem_file_iter(&pair.cert)
                .expect("cert file")
                .map(|c| c.expect("cert PEM"))
                .collect();
            let key = PrivateKeyDer::from_pem_file(&pair.key).expect("key");
            builder
                .with_client_auth_cert(chain, key)
                .expect("client cert")
        }
        None => builder.with_no_client_auth(),
    };
    Arc::new(config)
}

/// Connects and completes the handshake (as far as the client sees it: with TLSv1.3 a server
/// that refuses the client's certificate says so after, at the first read).
pub fn connect(addr: SocketAddr, config: Arc<rustls::ClientConfig>) -> std::io::Result<TlsStream> {
    let mut sock = TcpStream::connect(addr)?;
    sock.set_read_timeout(Some(Duration::from_secs(10)))?;
    let name = rustls_pki_types::ServerName::try_from("localhost").expect("name");
    let mut conn = rustls::ClientConnection::new(config, name).map_err(std::io::Error::other)?;
    while conn.is_handshaking() {
        conn.complete_io(&mut sock)?;
    }
    Ok(rustls::StreamOwned::new(conn, sock))
}

/// Sends a command and reads one reply; `Err` when the connection fails or closes first.
pub fn call(stream: &mut TlsStream, args: &[&str]) -> std::io::Result<Vec<u8>> {
    let mut req = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        req.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        req.extend_from_slice(a.as_bytes());
        req.extend_from_slice(b"\r\n");
    }
    stream.write_all(&req)?;
    stream.flush()?;
    let mut buf = Vec::new();
    loop {
        if let Some(len) = crate::common::complete_reply_len(&buf) {
            buf.truncate(len);
            return Ok(buf);
        }
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk)? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Common Name of the certificate the server presented.
pub fn server_cn(stream: &TlsStream) -> String {
    let der = stream.conn.peer_certificates().expect("server certificate")[0].clone();
    cachet::state::tls::common_name(&der).expect("CN")
}
